package twilio

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	conversations "github.com/twilio/twilio-go/rest/conversations/v1"
	taskrouter "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhooks/flexhooks"
	"github.com/flexhooks/flexhooks/internal/emulator"
)

func TestNextCursor(t *testing.T) {
	tests := []struct{ url, want string }{
		{"https://conversations.twilio.com/v1/Conversations/CH1/Messages?Order=asc&PageSize=100&Page=1&PageToken=PT100", "Page=1&PageToken=PT100"},
		{"https://conversations.twilio.com/v1/Conversations/CH1/Messages?PageSize=100&Page=2", "Page=2"},
		{"https://x/?Page=notanumber&PageToken=PA.1", "PageToken=PA.1"},
		{"::", ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, nextCursor(tt.url), tt.url)
	}
}

// The transcript's operations against the emulator, over HTTP.
func TestTranscriptOperationsAgainstEmulator(t *testing.T) {
	e, err := emulator.New(emulator.Options{ManualClock: true})
	require.NoError(t, err)
	srv := httptest.NewServer(e)
	t.Cleanup(func() { srv.Close(); e.Close() })
	sid, token := e.Credentials()
	c, err := New(Options{AccountSID: sid, AuthToken: token, EmulatorURL: srv.URL})
	require.NoError(t, err)
	ops := c.Operations("")
	ctx := context.Background()
	api := c.API(ctx)

	t.Run("messages page 100 at a time, oldest first", func(t *testing.T) {
		conv, err := api.Conversations.CreateConversation(nil)
		require.NoError(t, err)
		for i := range 250 {
			_, err := api.Conversations.CreateConversationMessage(*conv.Sid, (&conversations.CreateConversationMessageParams{}).
				SetAuthor("a").SetBody(fmt.Sprint(i)))
			require.NoError(t, err)
		}
		var got []string
		var sizes []int
		cursor := ""
		for {
			page, err := ops.ListConversationMessages(ctx, *conv.Sid, cursor)
			require.NoError(t, err)
			sizes = append(sizes, len(page.Messages))
			for _, m := range page.Messages {
				got = append(got, m.Body)
				assert.False(t, m.DateCreated.IsZero())
				assert.Equal(t, "a", m.Author)
			}
			if page.Next == "" {
				break
			}
			cursor = page.Next
		}
		assert.Equal(t, []int{100, 100, 50}, sizes)
		require.Len(t, got, 250)
		assert.Equal(t, "0", got[0])
		assert.Equal(t, "249", got[249])

		_, err = ops.ListConversationMessages(ctx, "CH00000000000000000000000000000000", "")
		assert.Equal(t, flexhooks.ENOTFOUND, flexhooks.ErrorCode(err), "a conversation Twilio no longer has")
	})

	t.Run("task attributes under If-Match", func(t *testing.T) {
		ws := e.SeededSIDs().WorkspaceSID
		task, err := api.TaskRouter.CreateTask(ws, (&taskrouter.CreateTaskParams{}).SetAttributes(`{"a":1}`).SetTaskChannel("chat"))
		require.NoError(t, err)
		attrs, version, err := ops.FetchTaskVersion(ctx, ws, *task.Sid)
		require.NoError(t, err)
		assert.JSONEq(t, `{"a":1}`, attrs)
		require.NotEmpty(t, version)
		// Someone else changes it: the version no longer matches.
		_, err = api.TaskRouter.UpdateTask(ws, *task.Sid, (&taskrouter.UpdateTaskParams{}).SetAttributes(`{"a":2}`))
		require.NoError(t, err)
		err = ops.UpdateTaskAttributes(ctx, ws, *task.Sid, `{"a":1,"b":true}`, version)
		assert.Equal(t, flexhooks.ECONFLICT, flexhooks.ErrorCode(err), "%v", err)
		_, version, err = ops.FetchTaskVersion(ctx, ws, *task.Sid)
		require.NoError(t, err)
		require.NoError(t, ops.UpdateTaskAttributes(ctx, ws, *task.Sid, `{"a":2,"b":true}`, version))
		attrs, _, err = ops.FetchTaskVersion(ctx, ws, *task.Sid)
		require.NoError(t, err)
		assert.JSONEq(t, `{"a":2,"b":true}`, attrs)
	})

	t.Run("an overwrite keeps the TTL", func(t *testing.T) {
		require.NoError(t, ops.CreateSyncMapItem(ctx, "m", "k", map[string]int{"v": 1}, 7*24*time.Hour))
		before, err := ops.FetchSyncMapItem(ctx, "m", "k")
		require.NoError(t, err)
		require.NoError(t, ops.OverwriteSyncMapItem(ctx, "m", "k", map[string]int{"v": 2}))
		after, err := ops.FetchSyncMapItem(ctx, "m", "k")
		require.NoError(t, err)
		assert.JSONEq(t, `{"v":2}`, string(after.Data))
		assert.Equal(t, before.DateExpires, after.DateExpires)
		assert.Equal(t, flexhooks.ENOTFOUND, flexhooks.ErrorCode(ops.OverwriteSyncMapItem(ctx, "m", "missing", 1)))
	})
}
