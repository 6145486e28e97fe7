package webhooks_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Issue 12, findings 3 and 8, end to end: reading is not changing, and a
// profile link (which opens one profile's sessions to agents of another)
// takes a supervisor or the service.

func (w *pcWorld) profileOf(csid string) string {
	w.T.Helper()
	p, _ := w.record(csid)["openedFor"].(map[string]any)["profileId"].(string)
	require.NotEmpty(w.T, p, "conversation %s has a profile", csid)
	return p
}

func TestAnAgentCannotLinkProfiles(t *testing.T) {
	w := startPCWorld(t, 1, nil)
	stranger := w.pastSession("+15557200003")
	mine := w.start("+15557200002", "hello")
	tok, _ := w.Token(mine.Agents[0])
	profiles := []string{w.profileOf(stranger.Conversation), w.profileOf(mine.Conversation)}

	for _, p := range profiles {
		status, body := w.Send(http.MethodPatch, w.Services[0], "/profiles/"+p, tok, map[string]any{"customerId": "CUST-EVIL"})
		require.Equal(t, http.StatusForbidden, status, "%v", body)
		status, body = w.Get(w.Services[0], "/profiles/"+p, tok)
		require.Equal(t, http.StatusOK, status, "%v", body)
		assert.NotContains(t, body, "customerId", "the refused link changed nothing")
	}
	status, body := w.rehydrate(w.Services[0], tok, map[string]any{
		"conversationSid": mine.Conversation, "sourceContactId": stranger.Contacts[0], "rehydrationType": "FROM_SEGMENT"})
	require.Equal(t, http.StatusForbidden, status, "another customer's session stays out of reach: %v", body)

	// An agent may still name the customer: a name opens nothing.
	status, body = w.Send(http.MethodPatch, w.Services[0], "/profiles/"+profiles[1], tok, map[string]any{"customerName": "Ann"})
	require.Equal(t, http.StatusOK, status, "%v", body)
	assert.Equal(t, "Ann", body["customerName"])
}

func TestASupervisorsLinkJoinsTwoProfilesForAgents(t *testing.T) {
	w := startPCWorld(t, 1, nil)
	// Two addresses of one customer, each with a first session that makes
	// its profile; a supervisor links both; the sessions that follow are
	// opened for the linked customer, and an agent may join them.
	first := w.ended("+15557300001")
	other := w.ended("+15557300002")
	for _, csid := range []string{first.Conversation, other.Conversation} {
		status, body := w.Send(http.MethodPatch, w.Services[0], "/profiles/"+w.profileOf(csid), w.supervisor, map[string]any{"customerId": "CUST-7"})
		require.Equal(t, http.StatusOK, status, "%v", body)
	}
	past := w.ended("+15557300002")
	now := w.start("+15557300001", "it's me again, from my other phone")
	tok, _ := w.Token(now.Agents[0])
	status, body := w.rehydrate(w.Services[0], tok, map[string]any{
		"conversationSid": now.Conversation, "sourceContactId": past.Contacts[0], "rehydrationType": "ENTIRE_PAST_SESSION"})
	require.Equal(t, http.StatusOK, status, "%v", body)
}

func TestOnlyTheCurrentAgentChangesARecord(t *testing.T) {
	w := startPCWorld(t, 1, nil)
	past := w.ended("+15557400001")
	s := w.start("+15557400001", "hello")
	aliceTok, _ := w.Token(s.Agents[0]) // "alice": the first agent, whoever the workflow chose
	to := "bob"
	if s.Agents[0] == w.workerSidOf("bob") {
		to = "alice"
	}
	w.transfer(s, to)
	bobTok, _ := w.Token(s.Agents[1])
	before := w.record(s.Conversation)

	status, body := w.Post(w.Services[0], "/interactions/"+s.Conversation+"/close", aliceTok, map[string]any{"shortDescription": "taken over"})
	require.Equal(t, http.StatusForbidden, status, "alice was assigned once; bob holds it now: %v", body)
	status, body = w.Send(http.MethodPatch, w.Services[0], "/interactions/"+s.Conversation, aliceTok, map[string]any{"shortDescription": "x"})
	require.Equal(t, http.StatusForbidden, status, "%v", body)
	w.Settle()
	assert.Equal(t, before, w.record(s.Conversation), "the refusals changed nothing")
	assert.Equal(t, "active", w.conversationStateOf(s.Conversation))

	status, body = w.Get(w.Services[0], "/interactions/"+s.Conversation, aliceTok)
	require.Equal(t, http.StatusOK, status, "alice may still read what she worked on: %v", body)

	link := map[string]any{"conversationSid": s.Conversation, "sourceContactId": past.Contacts[0], "rehydrationType": "ENTIRE_PAST_SESSION"}
	status, body = w.rehydrate(w.Services[0], aliceTok, link)
	require.Equal(t, http.StatusForbidden, status, "linking changes the record: %v", body)
	status, body = w.rehydrate(w.Services[0], bobTok, link)
	require.Equal(t, http.StatusOK, status, "%v", body)

	status, body = w.Post(w.Services[0], "/interactions/"+s.Conversation+"/close", bobTok, map[string]any{"shortDescription": "refund sent"})
	require.Equal(t, http.StatusOK, status, "bob holds it: %v", body)
}

func (w *pcWorld) conversationStateOf(csid string) string {
	w.T.Helper()
	c, err := w.Twilio.ConversationsV1.FetchConversation(csid)
	require.NoError(w.T, err)
	return *c.State
}

// ended is a one-contact session, accepted and ended.
func (w *pcWorld) ended(customer string) *pcSession {
	w.T.Helper()
	s := w.start(customer, "hello")
	w.end(s)
	return s
}
