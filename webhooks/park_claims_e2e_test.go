package webhooks_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	syncv1 "github.com/twilio/twilio-go/rest/sync/v1"

	"github.com/flexhooks/flexhooks/internal/e2etest"
	"github.com/flexhooks/flexhooks/webhooks"
)

// parkedByAnEarlierVersion parks a conversation, then moves its claim to
// the single map earlier versions kept every park claim in.
func (w *world) parkedByAnEarlierVersion(customer string) (csid, worker, token string) {
	w.t.Helper()
	csid, worker, token = w.parked(w.services[0], customer, "sms")
	shard := webhooks.ParkClaimMapFor(csid)
	it, err := w.Twilio.SyncV1.FetchSyncMapItem("default", shard, csid)
	require.NoError(w.t, err)
	data, err := json.Marshal(it.Data)
	require.NoError(w.t, err)
	var m map[string]any
	require.NoError(w.t, json.Unmarshal(data, &m))
	_, _ = w.Twilio.SyncV1.CreateSyncMap("default", (&syncv1.CreateSyncMapParams{}).SetUniqueName(webhooks.ParkClaimMap))
	_, err = w.Twilio.SyncV1.CreateSyncMapItem("default", webhooks.ParkClaimMap, (&syncv1.CreateSyncMapItemParams{}).SetKey(csid).SetData(m))
	require.NoError(w.t, err)
	require.NoError(w.t, w.Twilio.SyncV1.DeleteSyncMapItem("default", shard, csid, nil))
	return csid, worker, token
}

func (w *world) legacyClaims() int {
	w.t.Helper()
	items, err := w.Twilio.SyncV1.ListSyncMapItem("default", webhooks.ParkClaimMap, nil)
	if err != nil {
		return 0 // no legacy map
	}
	return len(items)
}

// A park made before claims were sharded is still resumed by its agent:
// the claim is read from the legacy map while that holds items.
func TestLegacyParkClaimStillUnparks(t *testing.T) {
	w := newWorld(t, 1)
	csid, worker, token := w.parkedByAnEarlierVersion("+15559874001")
	status, body := w.post(w.services[0], "/unpark-interaction", token, url.Values{"ConversationSid": {csid}})
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, true, body["unparked"])
	w.settle()
	assertRouted(t, w.view(csid, worker))
	assert.Zero(t, w.legacyClaims(), "the legacy claim is deleted with the park")
}

// The sweep moves legacy claims into their shards, once.
func TestSweepMovesLegacyClaimsIntoShards(t *testing.T) {
	w := newWorld(t, 1)
	const customer = "+15559874002"
	csid, worker, _ := w.parkedByAnEarlierVersion(customer)
	rep := w.Sweep(0, false)
	assert.Equal(t, []string{webhooks.RepairClaimMigrated}, e2etest.Repaired(rep), "%+v", rep)
	assert.Zero(t, w.legacyClaims())
	_, err := w.Twilio.SyncV1.FetchSyncMapItem("default", webhooks.ParkClaimMapFor(csid), csid)
	require.NoError(t, err, "the claim is in its shard")
	assert.Empty(t, e2etest.Repaired(w.Sweep(0, false)))

	w.inbound(customer, "sms", "back")
	w.settle()
	assertRouted(t, w.view(csid, worker))
}
