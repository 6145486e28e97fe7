package webhooks_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	syncv1 "github.com/twilio/twilio-go/rest/sync/v1"

	"github.com/flexhooks/flexhooks/webhooks"
)

// syncCalls are the Sync calls in the emulator's request log.
func syncCalls(w *recordsWorld) []string {
	var out []string
	for _, r := range w.Requests() {
		if r.Host == "sync.twilio.com" {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

// The records' Sync traffic per event (issue 15): an inbound task's record
// is created without a read, an event the record already holds costs no
// call, and a fact added on the replica that last wrote the record is one
// conditional write, no read.
func TestInteractionRecordSyncCalls(t *testing.T) {
	w := startRecords(t, recordsOptions{noCallbacks: true})
	in := w.Inbound("+15556100001", "sms", "hello")
	csid := in.ConversationSid
	attrs := w.taskAttributes(in.TaskSid)
	_, alice := w.Token("alice")
	post := func(ev map[string][]string) {
		t.Helper()
		status, body := w.SignedPost(w.Services[0]+webhooks.TaskRouterEventPath, ev)
		require.Equal(t, http.StatusNoContent, status, "%v", body)
	}
	recordCalls := func() (reads, writes int) {
		for _, c := range syncCalls(w) {
			if strings.Contains(c, "/Maps/"+webhooks.RecordMap(csid)+"/") {
				if strings.HasPrefix(c, "GET ") {
					reads++
				} else {
					writes++
				}
			}
		}
		return reads, writes
	}

	createSyncMaps(t, w.Twilio, []string{webhooks.RecordMap(csid)}) // its first use would create it: two more calls, once
	w.ClearRequests()
	post(w.taskEvent("task.created", in.TaskSid, attrs, 0, 0, ""))
	reads, writes := recordCalls()
	assert.Equal(t, 0, reads, "a new conversation's record is created, not read first")
	assert.Equal(t, 1, writes)

	w.ClearRequests()
	post(w.taskEvent("reservation.accepted", in.TaskSid, attrs, 0, 30, alice))
	reads, writes = recordCalls()
	assert.Equal(t, 0, reads, "this replica wrote the record last: its revision is known")
	assert.Equal(t, 1, writes)

	w.ClearRequests()
	post(w.taskEvent("reservation.accepted", in.TaskSid, attrs, 0, 30, alice))
	post(w.taskEvent("task.created", in.TaskSid, attrs, 0, 0, ""))
	reads, writes = recordCalls()
	assert.Equal(t, 0, reads+writes, "replays add no fact: no call")

	v := w.interaction(csid, w.supervisor())
	assert.Equal(t, webhooks.StateWorkInProgress, v.State)
	assert.Equal(t, 30.0, seconds(v.WaitTimeSeconds))
}

// A deployment upgraded from the single maps keeps its records, profiles
// and contacts: an item missing from its shard is read from the old map
// while that map holds items, and copied into the shard.
func TestInteractionRecordLegacyMapFallback(t *testing.T) {
	// The events go to the first replica; the second reads afterwards, as
	// a replica started on the upgraded deployment does.
	w := startRecords(t, recordsOptions{replicas: 2})
	sup := w.supervisor()
	csid, task, _ := w.contacted("+15556100002", "sms", "PT10S")
	before := w.interaction(csid, sup)

	// Move the record, the profile and the contact into the single maps
	// of earlier versions, as an older flexhooks left them.
	pid := webhooks.ProfileID("sms", "+15556100002")
	for _, m := range []struct{ kind, shard, key string }{
		{webhooks.InteractionRecordMap, webhooks.RecordMap(csid), csid},
		{webhooks.ProfileMap, webhooks.ProfileMapOf(pid), pid},
		{webhooks.ContactMap, webhooks.ContactMapOf(task), task},
	} {
		it, err := w.Twilio.SyncV1.FetchSyncMapItem("default", m.shard, m.key)
		require.NoError(t, err)
		_, err = w.Twilio.SyncV1.CreateSyncMap("default", (&syncv1.CreateSyncMapParams{}).SetUniqueName(m.kind))
		require.NoError(t, err)
		_, err = w.Twilio.SyncV1.CreateSyncMapItem("default", m.kind, (&syncv1.CreateSyncMapItemParams{}).SetKey(m.key).SetData(*it.Data))
		require.NoError(t, err)
		require.NoError(t, w.Twilio.SyncV1.DeleteSyncMapItem("default", m.shard, m.key, nil))
	}

	status, body := w.Get(w.Services[1], "/interactions/"+csid, sup)
	require.Equal(t, http.StatusOK, status, "%v", body)
	after := decodeAs[webhooks.Interaction](t, body)
	assert.Equal(t, before.Number, after.Number)
	assert.Equal(t, before.RelatedTasks, after.RelatedTasks)
	_, err := w.Twilio.SyncV1.FetchSyncMapItem("default", webhooks.RecordMap(csid), csid)
	assert.NoError(t, err, "copied into its shard")

	status, body = w.Get(w.Services[1], "/profiles/"+pid, sup)
	require.Equal(t, http.StatusOK, status, "%v", body)
	assert.Equal(t, pid, body["id"])
}
