package webhooks_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/flexhooks/flexhooks/webhooks"
)

func TestTaskEventsDispatch(t *testing.T) {
	var (
		mu    sync.Mutex
		calls []string
	)
	record := func(name string, err error) webhooks.TaskEventHandler {
		return func(_ context.Context, ev webhooks.TaskRouterEvent) error {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, name+":"+ev.TaskSid)
			return err
		}
	}
	boom := errors.New("boom")
	tests := []struct {
		name      string
		eventType string
		wantCalls []string
		wantErr   error
	}{
		{"unused event type is acknowledged untouched", "worker.activity.update", nil, nil},
		{"every handler of the type runs", "reservation.accepted", []string{"a:WT1", "b:WT1"}, nil},
		{"one handler's error fails the event so TaskRouter retries, the others still run", "task.canceled", []string{"c:WT1", "d:WT1"}, boom},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls = nil
			d := webhooks.NewTaskEvents()
			d.On("reservation.accepted", record("a", nil))
			d.On("reservation.accepted", record("b", nil))
			d.On("task.canceled", record("c", boom))
			d.On("task.canceled", record("d", nil))
			_, err := d.Handle(context.Background(), &webhooks.TaskRouterEvent{EventType: tc.eventType, TaskSid: "WT1"})
			assert.ErrorIs(t, err, tc.wantErr)
			assert.ElementsMatch(t, tc.wantCalls, calls)
		})
	}
}

func TestTaskRouterEventAttributes(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want map[string]any
	}{
		{`{"conversationSid":"CH1"}`, map[string]any{"conversationSid": "CH1"}},
		{``, map[string]any{}},
		{`not json`, map[string]any{}},
		{`null`, map[string]any{}},
	} {
		assert.Equal(t, tc.want, webhooks.TaskRouterEvent{TaskAttributes: tc.raw}.Attributes(), tc.raw)
	}
}
