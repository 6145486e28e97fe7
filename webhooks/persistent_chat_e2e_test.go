package webhooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	conversationsapi "github.com/twilio/twilio-go/rest/conversations/v1"
	flexapi "github.com/twilio/twilio-go/rest/flex/v1"
	syncv1 "github.com/twilio/twilio-go/rest/sync/v1"

	"github.com/flexhooks/flexhooks/internal/config"
	"github.com/flexhooks/flexhooks/internal/e2etest"
	"github.com/flexhooks/flexhooks/internal/emulator"
	"github.com/flexhooks/flexhooks/internal/emulator/emutest"
	"github.com/flexhooks/flexhooks/internal/setup"
	"github.com/flexhooks/flexhooks/internal/twilio"
	"github.com/flexhooks/flexhooks/webhooks"
)

// pcWorld is the end-to-end harness for persistent chat: interaction
// records on, the workspace event callback and the Conversations webhook
// pointed at the first replica as `flexhooks setup` leaves them.
type pcWorld struct {
	*e2etest.World
	supervisor string // a supervisor's Flex token
}

func startPCWorld(t testing.TB, replicas int, configure func(*config.Config)) *pcWorld {
	t.Helper()
	w := e2etest.Start(t, e2etest.Options{Replicas: replicas, Configure: func(c *config.Config) {
		c.InteractionRecords = true
		c.PersistentChat = config.PersistentChatOff
		c.PersistentChatWindow = 0
		if configure != nil {
			configure(c)
		}
	}})
	tw, err := twilio.New(twilio.Options{AccountSID: emutest.AccountSID, AuthToken: emutest.AuthToken, EmulatorURL: w.EmuURL})
	require.NoError(t, err)
	var out bytes.Buffer
	_, err = setup.Run(context.Background(), tw, setup.Steps(setup.Config{
		WorkspaceSID: w.Seeded.WorkspaceSID, ChatServiceSID: w.Seeded.ChatServiceSID, PublicBaseURL: w.Services[0],
	}), false, &out)
	require.NoError(t, err, out.String())
	pw := &pcWorld{World: w}
	pw.supervisor, _ = w.Token("carol", "supervisor")
	return pw
}

// pcSession is a customer's conversation and its contacts, as the test made them.
type pcSession struct {
	Customer, Conversation, Interaction, Channel string
	// Contacts are the conversation's tasks, in order.
	Contacts []string
	// Agents are the workers who accepted them ("" for none).
	Agents []string
}

// write adds a message to the conversation as author (the customer through
// the emulator's inbound, anyone else through the REST API), then lets a
// minute pass so that every message has its own time.
func (w *pcWorld) write(s *pcSession, author, body string) {
	w.T.Helper()
	if author == s.Customer {
		in := w.Inbound(s.Customer, "sms", body)
		require.Equal(w.T, s.Conversation, in.ConversationSid, "the customer writes into the open conversation")
	} else {
		_, err := w.Twilio.ConversationsV1.CreateConversationMessage(s.Conversation, (&conversationsapi.CreateConversationMessageParams{}).
			SetAuthor(author).SetBody(body).SetXTwilioWebhookEnabled("true"))
		require.NoError(w.T, err)
		w.Settle()
	}
	w.Advance("PT1M")
}

// start makes the customer write in and the offered agent accept.
func (w *pcWorld) start(customer, body string) *pcSession {
	w.T.Helper()
	in := w.Inbound(customer, "sms", body)
	require.NotEmpty(w.T, in.TaskSid, "a new conversation")
	s := &pcSession{Customer: customer, Conversation: in.ConversationSid, Interaction: in.InteractionSid, Contacts: []string{in.TaskSid}}
	s.Agents = append(s.Agents, w.AcceptReservation(in.TaskSid))
	ch := (&transferWorld{World: w.World}).state().channel(in.ConversationSid)
	require.NotNil(w.T, ch)
	s.Channel = ch.Sid
	w.Advance("PT1M")
	return s
}

// agentParticipant is the channel participant of the worker's live task.
func (w *pcWorld) agentParticipant(s *pcSession, worker string) string {
	ch := (&transferWorld{World: w.World}).state().channel(s.Conversation)
	require.NotNil(w.T, ch)
	p := ch.agent(worker)
	require.NotEmpty(w.T, p.Sid, "worker %s in %s", worker, s.Conversation)
	return p.Sid
}

// transfer is a cold transfer of the session's last contact to worker name
// through POST /transfer, accepted: a new contact.
func (w *pcWorld) transfer(s *pcSession, to string) {
	w.T.Helper()
	from := s.Agents[len(s.Agents)-1]
	tok, _ := w.Token(from)
	_, target := w.Token(to)
	c := chat{Conversation: s.Conversation, Interaction: s.Interaction, Channel: s.Channel, Task: s.Contacts[len(s.Contacts)-1],
		AgentWorker: from, AgentParticipant: w.agentParticipant(s, from)}
	status, body := w.Post(w.Services[0], "/transfer", tok, c.form(target))
	require.Equal(w.T, http.StatusOK, status, "%v", body)
	task := body["taskSid"].(string)
	w.Settle()
	s.Contacts = append(s.Contacts, task)
	s.Agents = append(s.Agents, w.AcceptReservation(task))
	w.Advance("PT1M")
}

// survey ends the last agent's contact and starts a post-chat survey: a
// contact (a task through a Flex invite) nobody accepts, while a bot asks.
func (w *pcWorld) survey(s *pcSession) {
	w.T.Helper()
	_, err := w.Twilio.FlexV1.UpdateInteractionChannelParticipant(s.Interaction, s.Channel, w.agentParticipant(s, s.Agents[len(s.Agents)-1]),
		(&flexapi.UpdateInteractionChannelParticipantParams{}).SetStatus("closed"))
	require.NoError(w.T, err)
	w.Settle()
	w.Advance("PT1M")
	inv, err := w.Twilio.FlexV1.CreateInteractionChannelInvite(s.Interaction, s.Channel, (&flexapi.CreateInteractionChannelInviteParams{}).
		SetRouting(map[string]any{"properties": map[string]any{
			"workspace_sid": w.Seeded.WorkspaceSID, "task_channel_unique_name": "sms",
			"attributes": map[string]any{"survey": true},
		}}))
	require.NoError(w.T, err)
	w.Settle()
	routing, _ := (*inv.Routing).(map[string]any)
	props, _ := routing["properties"].(map[string]any)
	task, _ := props["sid"].(string)
	require.NotEmpty(w.T, task, "the invite's task")
	s.Contacts = append(s.Contacts, task)
	s.Agents = append(s.Agents, "")
	w.Advance("PT1M")
}

// end closes the session's channel: its live tasks complete and the
// conversation closes.
func (w *pcWorld) end(s *pcSession) {
	w.T.Helper()
	_, err := w.Twilio.FlexV1.UpdateInteractionChannel(s.Interaction, s.Channel,
		(&flexapi.UpdateInteractionChannelParams{}).SetStatus("closed").SetRouting(map[string]any{"status": "closed"}))
	require.NoError(w.T, err)
	w.Settle()
	status, body := w.Get(w.Services[0], "/interactions/"+s.Conversation, w.supervisor)
	require.Equal(w.T, http.StatusOK, status, "%v", body)
	require.Equal(w.T, webhooks.StateClosedComplete, body["state"], "the record saw the close")
	w.Advance("PT1M")
}

// pastSession is the example: the customer chats with alice (C1),
// is transferred to bob (C2), a survey follows (C3), the session ends.
func (w *pcWorld) pastSession(customer string) *pcSession {
	w.T.Helper()
	s := w.start(customer, "my parcel is late")
	w.write(s, s.Agents[0], "let me look (C1)")
	w.transfer(s, "bob")
	w.write(s, s.Agents[1], "bob here, refund on its way (C2)")
	w.write(s, customer, "thanks (C2)")
	w.survey(s)
	w.write(s, "survey-bot", "rate us 1-5 (C3)")
	w.write(s, customer, "5 (C3)")
	w.end(s)
	require.Len(w.T, s.Contacts, 3)
	return s
}

func (w *pcWorld) rehydrate(service, token string, body map[string]any) (int, map[string]any) {
	w.T.Helper()
	return w.Post(service, "/persistent-chat", token, body)
}

// transcript reads a whole transcript page by page.
func (w *pcWorld) transcript(service, token, csid string, pageSize int) (pages []map[string]any, msgs []pcLine) {
	w.T.Helper()
	next := ""
	for {
		q := fmt.Sprintf("%s?pageSize=%d", webhooks.TranscriptPath(csid), pageSize)
		if next != "" {
			q += "&pageToken=" + next
		}
		status, body := w.Get(service, q, token)
		require.Equal(w.T, http.StatusOK, status, "%v", body)
		pages = append(pages, body)
		for _, m := range body["messages"].([]any) {
			m := m.(map[string]any)
			contact, _ := m["contactId"].(string)
			msgs = append(msgs, pcLine{Conversation: m["conversationSid"].(string), Contact: contact, Author: m["author"].(string), Body: m["body"].(string)})
		}
		next, _ = body["nextPageToken"].(string)
		if next == "" {
			return pages, msgs
		}
		require.Less(w.T, len(pages), 100, "paging ends")
	}
}

type pcLine struct {
	Conversation, Contact, Author, Body string
}

func pcBodies(lines []pcLine) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l.Body
	}
	return out
}

// advance moves the clock, and signs the supervisor in again: a Flex
// token expires on the service's clock, which is the emulator's.
func (w *pcWorld) advance(iso string) {
	w.Advance(iso)
	w.supervisor, _ = w.Token("carol", "supervisor")
}

// record is GET /interactions/{sid} as a supervisor.
func (w *pcWorld) record(csid string) map[string]any {
	status, body := w.Get(w.Services[0], "/interactions/"+csid, w.supervisor)
	require.Equal(w.T, http.StatusOK, status, "%v", body)
	return body
}

func pcFirstContact(rec map[string]any) map[string]any {
	return rec["relatedTasks"].([]any)[0].(map[string]any)
}

func TestPersistentChatContactChains(t *testing.T) {
	w := startPCWorld(t, 1, nil)
	const customer = "+15557100001"
	s1 := w.pastSession(customer)
	c1, c2, c3 := s1.Contacts[0], s1.Contacts[1], s1.Contacts[2]
	past := []string{"my parcel is late", "let me look (C1)", "bob here, refund on its way (C2)", "thanks (C2)"}
	survey := []string{"rate us 1-5 (C3)", "5 (C3)"}

	// The record's contact chain.
	chain := w.record(s1.Conversation)["relatedTasks"].([]any)
	require.Len(t, chain, 3)
	for i, c := range chain {
		c := c.(map[string]any)
		assert.Equal(t, s1.Contacts[i], c["contactId"])
		assert.Equal(t, c1, c["initialContactId"])
	}
	assert.Equal(t, "transfer", chain[1].(map[string]any)["reason"])

	// The customer returns: FROM_SEGMENT from C2 shows C1 and C2, not the survey.
	s2 := w.start(customer, "me again")
	require.NotEqual(t, s1.Conversation, s2.Conversation)
	tok, _ := w.Token(s2.Agents[0])
	status, res := w.rehydrate(w.Services[0], tok, map[string]any{
		"conversationSid": s2.Conversation, "sourceContactId": c2, "rehydrationType": "FROM_SEGMENT", "clientToken": "visit-2",
	})
	require.Equal(t, http.StatusOK, status, "%v", res)
	assert.Equal(t, c2, res["continuedFromContactId"])
	assert.Equal(t, s1.Conversation, res["continuedFromConversationSid"])
	assert.Equal(t, w.Services[0]+webhooks.TranscriptPath(s2.Conversation), res["transcriptUrl"])
	first := pcFirstContact(w.record(s2.Conversation))
	assert.Equal(t, c2, first["relatedContactId"], "the new conversation's first contact records the contact it continues")
	assert.Equal(t, "rehydrated", first["reason"])
	_, attrs := w.TaskStatus(s2.Contacts[0])
	assert.Contains(t, attrs, `"continuedFromContactId":"`+c2+`"`, "the live task carries the link")

	w.write(s2, s2.Agents[0], "I see your refund")
	_, lines := w.transcript(w.Services[0], tok, s2.Conversation, 100)
	assert.Equal(t, append(slices.Clone(past), "me again", "I see your refund"), pcBodies(lines))
	for _, l := range lines[:4] {
		assert.Equal(t, s1.Conversation, l.Conversation)
	}
	assert.Equal(t, []string{c1, c1, c2, c2}, []string{lines[0].Contact, lines[1].Contact, lines[2].Contact, lines[3].Contact},
		"each past message names the contact live when it was sent")
	assert.Equal(t, s2.Conversation, lines[4].Conversation)
	assert.Equal(t, s2.Contacts[0], lines[4].Contact)
	w.end(s2)

	// The customer returns again: ENTIRE_PAST_SESSION from C1 continues
	// from C3, the session's most recent contact, and shows it all.
	s3 := w.start(customer, "third time")
	status, res = w.rehydrate(w.Services[0], w.supervisor, map[string]any{
		"conversationSid": s3.Conversation, "sourceContactId": c1, "rehydrationType": "ENTIRE_PAST_SESSION",
	})
	require.Equal(t, http.StatusOK, status, "%v", res)
	assert.Equal(t, c3, res["continuedFromContactId"])
	assert.Equal(t, c1, res["sourceContactId"])
	tok3, _ := w.Token(s3.Agents[0])
	_, lines = w.transcript(w.Services[0], tok3, s3.Conversation, 2)
	assert.Equal(t, slices.Concat(past, survey, []string{"third time"}), pcBodies(lines), "paged two by two")
	assert.Equal(t, c3, lines[len(past)].Contact)
	w.end(s3)

	// A fourth visit continues the third: the chain accumulates (S4 → S3 → S1).
	s4 := w.start(customer, "fourth")
	tok4, _ := w.Token(s4.Agents[0])
	status, res = w.rehydrate(w.Services[0], tok4, map[string]any{
		"conversationSid": s4.Conversation, "sourceContactId": s3.Contacts[0], "rehydrationType": "ENTIRE_PAST_SESSION",
	})
	require.Equal(t, http.StatusOK, status, "%v", res)
	sessions := res["sessions"].([]any)
	require.Len(t, sessions, 2)
	assert.Equal(t, s1.Conversation, sessions[0].(map[string]any)["conversationSid"])
	assert.Equal(t, s3.Conversation, sessions[1].(map[string]any)["conversationSid"])
	pages, lines := w.transcript(w.Services[0], tok4, s4.Conversation, 1000)
	require.Len(t, pages, 1)
	assert.Equal(t, slices.Concat(past, survey, []string{"third time", "fourth"}), pcBodies(lines))
	ts := pages[0]["sessions"].([]any)
	require.Len(t, ts, 3)
	assert.Equal(t, true, ts[2].(map[string]any)["current"])
	for _, s := range ts {
		assert.Equal(t, webhooks.SessionRead, s.(map[string]any)["status"])
	}
}

func TestPersistentChatRefusals(t *testing.T) {
	w := startPCWorld(t, 1, nil)
	s1 := w.pastSession("+15557100002")
	s2 := w.start("+15557100002", "back")
	tok, _ := w.Token(s2.Agents[0])
	stranger := w.pastSession("+15557100003")
	live := w.start("+15557100010", "someone else, still chatting")
	bare, err := w.Twilio.ConversationsV1.CreateConversation(nil) // no interaction: no task, no record
	require.NoError(t, err)

	req := func(csid, source, typ string) map[string]any {
		return map[string]any{"conversationSid": csid, "sourceContactId": source, "rehydrationType": typ, "clientToken": "refused-" + source + typ}
	}
	tests := []struct {
		name   string
		token  string
		body   map[string]any
		status int
		field  string
	}{
		{"bad type", tok, req(s2.Conversation, s1.Contacts[0], "WHOLE"), http.StatusBadRequest, "rehydrationType"},
		{"bad sids", tok, req("CH123", "nope", "FROM_SEGMENT"), http.StatusBadRequest, "sourceContactId"},
		{"ENTIRE_PAST_SESSION from a later contact", tok, req(s2.Conversation, s1.Contacts[1], "ENTIRE_PAST_SESSION"), http.StatusBadRequest, "sourceContactId"},
		{"unknown contact", tok, req(s2.Conversation, "WT00000000000000000000000000000000", "FROM_SEGMENT"), http.StatusNotFound, ""},
		{"source still active", w.supervisor, req(s2.Conversation, live.Contacts[0], "FROM_SEGMENT"), http.StatusConflict, ""},
		{"another customer's session", tok, req(s2.Conversation, stranger.Contacts[0], "FROM_SEGMENT"), http.StatusForbidden, ""},
		{"a conversation with no contact yet", w.supervisor, req(*bare.Sid, s1.Contacts[0], "FROM_SEGMENT"), http.StatusConflict, ""},
		{"a closed conversation cannot continue", w.supervisor, req(s1.Conversation, s1.Contacts[0], "FROM_SEGMENT"), http.StatusConflict, ""},
		{"unknown conversation", w.supervisor, req("CH00000000000000000000000000000000", s1.Contacts[0], "FROM_SEGMENT"), http.StatusNotFound, ""},
		{"no credentials", "", req(s2.Conversation, s1.Contacts[0], "FROM_SEGMENT"), http.StatusUnauthorized, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w.ClearRequests()
			status, body := w.rehydrate(w.Services[0], tt.token, tt.body)
			require.Equal(t, tt.status, status, "%v", body)
			if tt.field != "" {
				fields, _ := body["error"].(map[string]any)["fields"].(map[string]any)
				assert.Contains(t, fields, tt.field, "%v", body)
			}
			for _, r := range w.Requests() {
				// A refusal writes nothing but its own client-token claim,
				// which it deletes (and, the first time, that claim's map).
				write := r.Method != http.MethodGet && r.Host != "iam.twilio.com"
				if write && !strings.Contains(r.Path, webhooks.ClientTokenMap) && !strings.HasSuffix(r.Path, "/Maps") {
					t.Errorf("a refused request changed something: %s %s", r.Method, r.Path)
				}
			}
			assert.Empty(t, w.tokenItems(), "no client token is kept for a refused request")
		})
	}
	_, nothing := w.record(s2.Conversation)["continuedFromContactId"]
	assert.False(t, nothing, "no refusal linked anything")

	// An agent the conversation was never assigned to.
	other := "bob"
	if s2.Agents[0] == w.workerSidOf("bob") {
		other = "alice"
	}
	otherTok, _ := w.Token(other)
	status, body := w.rehydrate(w.Services[0], otherTok, req(s2.Conversation, s1.Contacts[0], "ENTIRE_PAST_SESSION"))
	assert.Equal(t, http.StatusForbidden, status, "%v", body)

	// Linked once; the same link again is a success; another is 409.
	status, first := w.rehydrate(w.Services[0], tok, map[string]any{"conversationSid": s2.Conversation, "sourceContactId": s1.Contacts[0], "rehydrationType": "ENTIRE_PAST_SESSION"})
	require.Equal(t, http.StatusOK, status, "%v", first)
	status, again := w.rehydrate(w.Services[0], tok, map[string]any{"conversationSid": s2.Conversation, "sourceContactId": s1.Contacts[0], "rehydrationType": "ENTIRE_PAST_SESSION"})
	require.Equal(t, http.StatusOK, status, "%v", again)
	assert.Equal(t, first, again)
	status, body = w.rehydrate(w.Services[0], tok, map[string]any{"conversationSid": s2.Conversation, "sourceContactId": s1.Contacts[1], "rehydrationType": "FROM_SEGMENT"})
	assert.Equal(t, http.StatusConflict, status, "%v", body)
}

func (w *pcWorld) workerSidOf(name string) string {
	_, sid := w.Token(name)
	return sid
}

// tokenItems are the client-token items in Sync, over every shard.
func (w *pcWorld) tokenItems() []syncv1.SyncV1SyncMapItem {
	maps, err := w.Twilio.SyncV1.ListSyncMap("default", nil)
	require.NoError(w.T, err)
	var out []syncv1.SyncV1SyncMapItem
	for _, m := range maps {
		if m.UniqueName == nil || !strings.HasPrefix(*m.UniqueName, webhooks.ClientTokenMap+"_") {
			continue
		}
		items, err := w.Twilio.SyncV1.ListSyncMapItem("default", *m.UniqueName, nil)
		require.NoError(w.T, err)
		out = append(out, items...)
	}
	return out
}

func TestPersistentChatClientToken(t *testing.T) {
	w := startPCWorld(t, 1, nil)
	s1 := w.pastSession("+15557100004")
	s2 := w.start("+15557100004", "back")
	tok, _ := w.Token(s2.Agents[0])
	req := map[string]any{"conversationSid": s2.Conversation, "sourceContactId": s1.Contacts[1], "rehydrationType": "FROM_SEGMENT", "clientToken": "abc-123"}

	status, first := w.rehydrate(w.Services[0], tok, req)
	require.Equal(t, http.StatusOK, status, "%v", first)
	items := w.tokenItems()
	require.Len(t, items, 1)
	assert.NotContains(t, *items[0].Key, "abc-123", "the token itself is not stored")
	require.NotNil(t, items[0].DateExpires)
	assert.GreaterOrEqual(t, items[0].DateExpires.Sub(*items[0].DateCreated), 7*24*time.Hour, "kept for seven days")

	// Six days later the same client token and request answer the same,
	// and change nothing. (The agent's Flex token has expired by then, on
	// the service's clock as on IAM's: the agent has signed in again.)
	w.advance("P6D")
	tok, _ = w.Token(s2.Agents[0])
	w.ClearRequests()
	status, again := w.rehydrate(w.Services[0], tok, req)
	require.Equal(t, http.StatusOK, status, "%v", again)
	assert.Equal(t, first, again)
	for _, r := range w.Requests() {
		if r.Method != http.MethodGet && r.Host != "iam.twilio.com" {
			assert.Contains(t, r.Path, webhooks.ClientTokenMap, "a replay only tries its claim: %s %s", r.Method, r.Path)
		}
	}

	// The same token for another request is 409, and changes nothing.
	other := map[string]any{"conversationSid": s2.Conversation, "sourceContactId": s1.Contacts[0], "rehydrationType": "ENTIRE_PAST_SESSION", "clientToken": "abc-123"}
	status, body := w.rehydrate(w.Services[0], tok, other)
	assert.Equal(t, http.StatusConflict, status, "%v", body)
	assert.Equal(t, s1.Contacts[1], w.record(s2.Conversation)["continuedFromContactId"])

	// A customer-facing backend with the service's credentials.
	basic := func(user, pass string, body map[string]any) (int, map[string]any) {
		b, _ := json.Marshal(body)
		r, _ := http.NewRequest(http.MethodPost, w.Services[0]+"/persistent-chat", bytes.NewReader(b))
		r.Header.Set("Content-Type", "application/json")
		r.SetBasicAuth(user, pass)
		resp, err := w.HTTP.Do(r)
		require.NoError(t, err)
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var out map[string]any
		_ = json.Unmarshal(raw, &out)
		return resp.StatusCode, out
	}
	status, body = basic(emutest.AccountSID, emutest.AuthToken, req)
	assert.Equal(t, http.StatusOK, status, "%v", body)
	assert.Equal(t, first, body)
	status, body = basic(emutest.AccountSID, "wrong", req)
	assert.Equal(t, http.StatusForbidden, status, "%v", body)
}

func TestPersistentChatTwoReplicas(t *testing.T) {
	w := startPCWorld(t, 2, nil)
	s1 := w.pastSession("+15557100005")
	s2 := w.start("+15557100005", "back")
	tok, _ := w.Token(s2.Agents[0])

	// The same token on both replicas at once: one link, one answer.
	req := map[string]any{"conversationSid": s2.Conversation, "sourceContactId": s1.Contacts[0], "rehydrationType": "ENTIRE_PAST_SESSION", "clientToken": "twice"}
	answers := make([]map[string]any, 4)
	codes := make([]int, 4)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Go(func() { codes[i], answers[i] = w.rehydrate(w.Services[i%2], tok, req) })
	}
	wg.Wait()
	for i := range answers {
		require.Equal(t, http.StatusOK, codes[i], "%v", answers[i])
		// Each test replica has its own PUBLIC_BASE_URL, so its own
		// transcript link; in production replicas share one.
		delete(answers[i], "transcriptUrl")
		assert.Equal(t, answers[0], answers[i])
	}

	// Two different links raced on a new conversation: one wins.
	w.end(s2)
	s3 := w.start("+15557100005", "again")
	var ok, conflict int
	var mu sync.Mutex
	for i, source := range []string{s1.Contacts[1], s2.Contacts[0], s1.Contacts[0], s2.Contacts[0]} {
		typ := "FROM_SEGMENT"
		wg.Go(func() {
			status, _ := w.rehydrate(w.Services[i%2], w.supervisor, map[string]any{"conversationSid": s3.Conversation, "sourceContactId": source, "rehydrationType": typ})
			mu.Lock()
			defer mu.Unlock()
			switch status {
			case http.StatusOK:
				ok++
			case http.StatusConflict:
				conflict++
			default:
				t.Errorf("status %d", status)
			}
		})
	}
	wg.Wait()
	assert.GreaterOrEqual(t, ok, 1)
	assert.Equal(t, 4, ok+conflict)
	linked := w.record(s3.Conversation)["continuedFromContactId"]
	assert.Contains(t, []any{s1.Contacts[1], s2.Contacts[0], s1.Contacts[0]}, linked)

	// Either replica serves the transcript.
	tok3, _ := w.Token(s3.Agents[0])
	_, a := w.transcript(w.Services[0], tok3, s3.Conversation, 3)
	_, b := w.transcript(w.Services[1], tok3, s3.Conversation, 1000)
	assert.Equal(t, a, b)
}

func TestPersistentChatAutomatic(t *testing.T) {
	for _, mode := range []string{config.PersistentChatFromSegment, config.PersistentChatEntirePastSession} {
		t.Run(mode, func(t *testing.T) {
			w := startPCWorld(t, 1, func(c *config.Config) {
				c.PersistentChat = mode
				c.PersistentChatWindow = 0
				require.NoError(t, c.PersistentChatWindow.UnmarshalText([]byte("P1D")))
			})
			const customer = "+15557100007"
			s1 := w.pastSession(customer)
			want := s1.Contacts[1] // FROM_SEGMENT: the last contact an agent accepted, not the survey
			if mode == config.PersistentChatEntirePastSession {
				want = s1.Contacts[2]
			}

			// Back two hours later: linked before anyone accepts.
			w.advance("PT2H")
			in := w.Inbound(customer, "sms", "back within a day")
			require.NotEmpty(t, in.TaskSid)
			status, attrs := w.TaskStatus(in.TaskSid)
			assert.NotEqual(t, "assigned", status)
			var a map[string]any
			require.NoError(t, json.Unmarshal([]byte(attrs), &a))
			assert.Equal(t, want, a[webhooks.ContinuedFromAttribute])
			assert.Equal(t, w.Services[0]+webhooks.TranscriptPath(in.ConversationSid), a[webhooks.TranscriptURLAttribute])
			assert.Equal(t, "+15557100007", a["customerAddress"], "Flex's attributes are kept")
			rec := w.record(in.ConversationSid)
			assert.Equal(t, want, rec["continuedFromContactId"])
			assert.Equal(t, want, pcFirstContact(rec)["relatedContactId"])

			s2 := &pcSession{Customer: customer, Conversation: in.ConversationSid, Interaction: in.InteractionSid, Contacts: []string{in.TaskSid}}
			s2.Agents = []string{w.AcceptReservation(in.TaskSid)}
			s2.Channel = (&transferWorld{World: w.World}).state().channel(in.ConversationSid).Sid
			tok, _ := w.Token(s2.Agents[0])

			// The API agrees with the automatic link: the same one is a
			// success, another 409.
			source := map[string]string{config.PersistentChatFromSegment: s1.Contacts[1], config.PersistentChatEntirePastSession: s1.Contacts[0]}[mode]
			code, res := w.rehydrate(w.Services[0], tok, map[string]any{"conversationSid": in.ConversationSid, "sourceContactId": source, "rehydrationType": mode})
			require.Equal(t, http.StatusOK, code, "%v", res)
			assert.Equal(t, want, res["continuedFromContactId"])
			code, res = w.rehydrate(w.Services[0], tok, map[string]any{"conversationSid": in.ConversationSid, "sourceContactId": s1.Contacts[0], "rehydrationType": "FROM_SEGMENT"})
			assert.Equal(t, http.StatusConflict, code, "%v", res)
			_, lines := w.transcript(w.Services[0], tok, s2.Conversation, 50)
			n := 4
			if mode == config.PersistentChatEntirePastSession {
				n = 6
			}
			require.Len(t, lines, n+1)
			assert.Equal(t, "back within a day", lines[n].Body)
			w.end(s2)

			// Back two days later: outside the window, not linked.
			w.advance("P2D")
			in = w.Inbound(customer, "sms", "back much later")
			_, attrs = w.TaskStatus(in.TaskSid)
			assert.NotContains(t, attrs, webhooks.ContinuedFromAttribute)
			_, linked := w.record(in.ConversationSid)["continuedFromContactId"]
			assert.False(t, linked)
		})
	}
}

// A Twilio failure while linking never holds up the new chat: it is routed
// without history.
func TestPersistentChatAutomaticFailureStillRoutes(t *testing.T) {
	w := startPCWorld(t, 1, func(c *config.Config) {
		c.PersistentChat = config.PersistentChatFromSegment
		require.NoError(t, c.PersistentChatWindow.UnmarshalText([]byte("P7D")))
	})
	s1 := w.pastSession("+15557100008")
	_ = s1
	w.Faults(emulator.Fault{Host: "sync.twilio.com", Method: http.MethodGet, Path: webhooks.ProfileInteractionsMap + "_[0-9a-f]{2}/Items$", Status: 500})
	in := w.Inbound("+15557100008", "sms", "back, Sync is down")
	w.Faults()
	require.NotEmpty(t, in.TaskSid)
	assert.NotEmpty(t, w.PendingReservation(in.TaskSid), "routed all the same")
	_, attrs := w.TaskStatus(in.TaskSid)
	assert.NotContains(t, attrs, webhooks.ContinuedFromAttribute)
}

// A past conversation Twilio no longer has is reported in the transcript,
// not as a failure.
func TestPersistentChatTranscriptOfDeletedConversation(t *testing.T) {
	w := startPCWorld(t, 1, nil)
	s1 := w.pastSession("+15557100009")
	s2 := w.start("+15557100009", "back")
	tok, _ := w.Token(s2.Agents[0])
	status, body := w.rehydrate(w.Services[0], tok, map[string]any{"conversationSid": s2.Conversation, "sourceContactId": s1.Contacts[0], "rehydrationType": "ENTIRE_PAST_SESSION"})
	require.Equal(t, http.StatusOK, status, "%v", body)
	require.NoError(t, w.Twilio.ConversationsV1.DeleteConversation(s1.Conversation, nil))

	pages, lines := w.transcript(w.Services[0], tok, s2.Conversation, 100)
	assert.Equal(t, []string{"back"}, pcBodies(lines))
	past := pages[0]["sessions"].([]any)[0].(map[string]any)
	assert.Equal(t, s1.Conversation, past["conversationSid"])
	assert.Equal(t, webhooks.SessionUnavailable, past["status"])
	assert.NotEmpty(t, past["note"])

	// Another agent may not read it.
	other := "bob"
	if s2.Agents[0] == w.workerSidOf("bob") {
		other = "alice"
	}
	otherTok, _ := w.Token(other)
	status, _ = w.Get(w.Services[0], webhooks.TranscriptPath(s2.Conversation), otherTok)
	assert.Equal(t, http.StatusForbidden, status)
}
