package e2etest_test

import (
	"net/http"
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
