package webhooks_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flexhooks/flexhooks/internal/config"
	"github.com/flexhooks/flexhooks/internal/e2etest"
	"github.com/flexhooks/flexhooks/internal/emulator"
	"github.com/flexhooks/flexhooks/internal/isoduration"
	"github.com/flexhooks/flexhooks/webhooks"
)

// An inactivity close whose every attempt failed, with no redelivery: the
// sweep finishes it as the live path would have, interaction record
// included (Closed, abandoned: the timeout's close).
func TestInactivitySweepFinishesTheCloseAndItsRecord(t *testing.T) {
	w := startRecords(t, recordsOptions{configure: func(c *config.Config) {
		c.InactivityTimeout = isoduration.Duration(30 * time.Minute)
		c.InactivityMessage = closingText
	}})
	csid, _, _ := w.contacted("+15556100001", "sms", "")
	w.Faults(emulator.Fault{Host: "flex-api.twilio.com", Method: "POST", Path: "/Channels/UO", Status: 500})
	w.Advance("PT31M")
	w.Faults()
	require.NotEqual(t, "closed", w.conversationState(csid), "the close failed and nothing delivers it again")

	w.Advance("PT3M")
	assert.Equal(t, []string{webhooks.RepairInactivityCloseUnfinished}, e2etest.Repaired(w.Sweep(0, false)))
	w.Settle()
	require.Equal(t, "closed", w.conversationState(csid))
	v := w.interaction(csid, w.supervisor())
	assert.Equal(t, webhooks.StateClosedAbandoned, v.State)
	assert.Empty(t, e2etest.Repaired(w.Sweep(0, false)))
}
