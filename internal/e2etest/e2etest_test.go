package e2etest_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flexhooks/flexhooks/internal/e2etest"
)

// The harness itself: a customer writes, an agent accepts, the service answers.
func TestWorldPlaysAContactCentreDay(t *testing.T) {
	w := e2etest.Start(t, e2etest.Options{Replicas: 2})
	in := w.Inbound("+15551230001", "sms", "hello")
	require.NotEmpty(t, in.TaskSid)
	worker := w.AcceptReservation(in.TaskSid)
	assert.Regexp(t, `^WK[0-9a-f]{32}$`, worker)

	token, _ := w.Token("alice")
	for _, svc := range w.Services {
		status, body := w.Get(svc, "/parked-interactions", token)
		assert.Equal(t, http.StatusOK, status, "%v", body)
	}
}

func TestTaskRouterEventsUnusedTypesGet204(t *testing.T) {
	w := e2etest.Start(t, e2etest.Options{})
	for _, path := range []string{"/webhooks/reservation-accepted", "/on_reservation_accepted"} {
		status, _ := w.SignedPost(w.Services[0]+path, url.Values{"EventType": {"worker.activity.update"}, "WorkerSid": {"WK00000000000000000000000000000000"}})
		assert.Equal(t, http.StatusNoContent, status, path)
	}
	status, _ := w.Post(w.Services[0], "/webhooks/reservation-accepted", "", url.Values{"EventType": {"task.created"}})
	assert.Equal(t, http.StatusForbidden, status, "unsigned")
}
