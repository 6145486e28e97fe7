package flexhooks

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestLogAttrs(t *testing.T) {
	t.Parallel()
	// Without a bag: nothing happens, nothing breaks.
	LogAttrs(context.Background(), slog.String("a", "b"))
	assert.Nil(t, LoggedAttrs(context.Background()))

	ctx := WithLogAttrs(context.Background())
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			LogAttrs(ctx, slog.Int("n", i), slog.String("conversationSid", "CH1"))
		}()
	}
	wg.Wait()
	LogAttrs(ctx, slog.String("conversationSid", "CH2"))
	got := LoggedAttrs(ctx)
	assert.Len(t, got, 2, "one attribute per key")
	assert.Equal(t, "conversationSid", got[1].Key)
	assert.Equal(t, "CH2", got[1].Value.String(), "the last value wins")

	got[0] = slog.String("mutated", "x")
	assert.Equal(t, "n", LoggedAttrs(ctx)[0].Key, "callers get a copy")
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "", RequestID(context.Background()))
	assert.Equal(t, "r1", RequestID(WithRequestID(context.Background(), "r1")))
}
