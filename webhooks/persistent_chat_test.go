package webhooks

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flexhooks/flexhooks"
)

func pcSid(prefix string, n int) string { return fmt.Sprintf("%s%032x", prefix, n) }

var pcT0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func pcAt(min int) time.Time { return pcT0.Add(time.Duration(min) * time.Minute) }

// pastRecord is a closed session: C1 (alice, 0–10), C2 (bob, transfer,
// 9–20), C3 (a survey nobody accepted, 21–25), closed at 25.
func pastRecord() *InteractionRecord {
	return &InteractionRecord{
		ConversationSid: pcSid("CH", 1), Channel: "sms", CustomerAddress: "+15550001",
		OpenedFor: ProfileRef{ProfileID: ProfileID("sms", "+15550001")},
		Tasks: []RecordTask{
			{Sid: pcSid("WT", 1), Reason: ContactInbound, CreatedAt: pcAt(0), AcceptedAt: pcAt(1), EndedAt: pcAt(10), WorkerSid: pcSid("WK", 1), WorkerName: "alice", QueueName: "Everyone"},
			{Sid: pcSid("WT", 2), Reason: ContactTransfer, CreatedAt: pcAt(9), AcceptedAt: pcAt(11), EndedAt: pcAt(20), WorkerName: "bob"},
			{Sid: pcSid("WT", 3), Reason: ContactInbound, CreatedAt: pcAt(21), EndedAt: pcAt(25)},
		},
		ClosedAt: pcAt(25),
	}
}

func TestPersistentChatRequestValidate(t *testing.T) {
	good := PersistentChatRequest{ConversationSid: pcSid("CH", 9), SourceContactID: pcSid("WT", 1), RehydrationType: RehydrateFromSegment, ClientToken: "t"}
	tests := []struct {
		name   string
		mod    func(*PersistentChatRequest)
		fields []string
	}{
		{"good", func(*PersistentChatRequest) {}, nil},
		{"no token is fine", func(r *PersistentChatRequest) { r.ClientToken = "" }, nil},
		{"everything missing", func(r *PersistentChatRequest) { *r = PersistentChatRequest{} }, []string{"conversationSid", "rehydrationType", "sourceContactId"}},
		{"bad sids", func(r *PersistentChatRequest) { r.ConversationSid, r.SourceContactID = "CH1", pcSid("WK", 1) }, []string{"conversationSid", "sourceContactId"}},
		{"bad type", func(r *PersistentChatRequest) { r.RehydrationType = "entire_past_session" }, []string{"rehydrationType"}},
		{"blank token", func(r *PersistentChatRequest) { r.ClientToken = "  " }, []string{"clientToken"}},
		{"long token", func(r *PersistentChatRequest) { r.ClientToken = strings.Repeat("x", 501) }, []string{"clientToken"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := good
			tt.mod(&r)
			err := r.Validate()
			if tt.fields == nil {
				assert.NoError(t, err)
				return
			}
			var fe *flexhooks.Error
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, flexhooks.EINVALID, fe.Code)
			var got []string
			for k := range fe.Fields {
				got = append(got, k)
			}
			assert.ElementsMatch(t, tt.fields, got)
		})
	}
}

func TestRequestDigestAndTokenKey(t *testing.T) {
	a := PersistentChatRequest{ConversationSid: pcSid("CH", 9), SourceContactID: pcSid("WT", 1), RehydrationType: RehydrateFromSegment, ClientToken: "x"}
	b := a
	b.ClientToken = "y"
	assert.Equal(t, a.digest(), b.digest(), "the token is not part of what is asked")
	b.RehydrationType = RehydrateEntirePastSession
	assert.NotEqual(t, a.digest(), b.digest())
	assert.Len(t, clientTokenKey("any token at all / with \u00e9"), 64)
	assert.NotContains(t, clientTokenKey("secret"), "secret")
}

func TestNewContinuation(t *testing.T) {
	past := pastRecord()
	c1, c2, c3 := past.Tasks[0].Sid, past.Tasks[1].Sid, past.Tasks[2].Sid
	chained := pastRecord()
	chained.ConversationSid = pcSid("CH", 2)
	chained.ContinuedFrom = &Continuation{ContactID: pcSid("WT", 7), ConversationSid: pcSid("CH", 7), RehydrationType: RehydrateEntirePastSession,
		History: []PastSession{{ConversationSid: pcSid("CH", 7), UpToContactID: pcSid("WT", 7), Contacts: []RecordTask{{Sid: pcSid("WT", 7)}}}}}
	noEnd := pastRecord()
	noEnd.Tasks[1].EndedAt = time.Time{}

	tests := []struct {
		name         string
		past         *InteractionRecord
		source, typ  string
		max          int
		wantContact  string
		wantUntil    time.Time
		wantShown    []string
		wantSessions []string
		wantCode     string
	}{
		{name: "entire session continues from its last contact", past: past, source: c1, typ: RehydrateEntirePastSession,
			wantContact: c3, wantShown: []string{c1, c2, c3}, wantSessions: []string{pcSid("CH", 1)}},
		{name: "entire session from a later contact", past: past, source: c2, typ: RehydrateEntirePastSession, wantCode: flexhooks.EINVALID},
		{name: "from segment stops at the contact's end", past: past, source: c2, typ: RehydrateFromSegment,
			wantContact: c2, wantUntil: pcAt(20), wantShown: []string{c1, c2}, wantSessions: []string{pcSid("CH", 1)}},
		{name: "from the first segment", past: past, source: c1, typ: RehydrateFromSegment,
			wantContact: c1, wantUntil: pcAt(10), wantShown: []string{c1}, wantSessions: []string{pcSid("CH", 1)}},
		{name: "an end never seen: the next contact's start", past: noEnd, source: c2, typ: RehydrateFromSegment,
			wantContact: c2, wantUntil: pcAt(21), wantShown: []string{c1, c2}, wantSessions: []string{pcSid("CH", 1)}},
		{name: "chains accumulate, oldest first", past: chained, source: c1, typ: RehydrateEntirePastSession,
			wantContact: c3, wantShown: []string{c1, c2, c3}, wantSessions: []string{pcSid("CH", 7), pcSid("CH", 2)}},
		{name: "the oldest sessions go past the limit", past: chained, source: c1, typ: RehydrateEntirePastSession, max: 1,
			wantContact: c3, wantShown: []string{c1, c2, c3}, wantSessions: []string{pcSid("CH", 2)}},
		{name: "unknown contact", past: past, source: pcSid("WT", 99), typ: RehydrateFromSegment, wantCode: flexhooks.ENOTFOUND},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := newContinuation(tt.past, tt.source, tt.typ, cmpOr(tt.max, DefaultMaxHistory))
			if tt.wantCode != "" {
				assert.Equal(t, tt.wantCode, flexhooks.ErrorCode(err), "%v", err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantContact, got.ContactID)
			assert.Equal(t, tt.past.ConversationSid, got.ConversationSid)
			assert.Equal(t, tt.typ, got.RehydrationType)
			var sessions []string
			for _, h := range got.History {
				sessions = append(sessions, h.ConversationSid)
			}
			assert.Equal(t, tt.wantSessions, sessions)
			last := got.History[len(got.History)-1]
			assert.Equal(t, tt.wantContact, last.UpToContactID)
			assert.Equal(t, tt.wantUntil, last.Until)
			var shown []string
			for _, c := range last.Contacts {
				shown = append(shown, c.Sid)
				assert.Empty(t, c.QueueName, "only what a transcript needs is kept")
			}
			assert.Equal(t, tt.wantShown, shown)
		})
	}

	t.Run("the first contact of a continued session shows as rehydrated", func(t *testing.T) {
		got, err := newContinuation(chained, c1, RehydrateFromSegment, DefaultMaxHistory)
		require.NoError(t, err)
		assert.Equal(t, ContactRehydrated, got.History[1].Contacts[0].Reason)
	})

	t.Run("a long chain is cut to its byte budget", func(t *testing.T) {
		long := pastRecord()
		long.ContinuedFrom = &Continuation{ContactID: pcSid("WT", 7), ConversationSid: pcSid("CH", 7), RehydrationType: RehydrateEntirePastSession}
		for i := range 9 {
			var contacts []RecordTask
			for j := range 12 {
				contacts = append(contacts, RecordTask{Sid: pcSid("WT", 1000+i*100+j), Reason: ContactTransfer, CreatedAt: pcAt(j), AcceptedAt: pcAt(j), EndedAt: pcAt(j + 1), WorkerName: "someone with a long name"})
			}
			long.ContinuedFrom.History = append(long.ContinuedFrom.History, PastSession{ConversationSid: pcSid("CH", 100+i), UpToContactID: contacts[11].Sid, Contacts: contacts})
		}
		got, err := newContinuation(long, c1, RehydrateEntirePastSession, DefaultMaxHistory)
		require.NoError(t, err)
		b, err := json.Marshal(got)
		require.NoError(t, err)
		assert.LessOrEqual(t, len(b), maxContinuationBytes)
		assert.Less(t, len(got.History), 10)
		assert.Equal(t, long.ConversationSid, got.History[len(got.History)-1].ConversationSid, "the session continued from is always kept")
	})
}

func TestAutoSource(t *testing.T) {
	past := pastRecord()
	assert.Equal(t, past.Tasks[0].Sid, autoSource(past, RehydrateEntirePastSession))
	assert.Equal(t, past.Tasks[1].Sid, autoSource(past, RehydrateFromSegment), "the survey nobody accepted is left out")
	none := pastRecord()
	for i := range none.Tasks {
		none.Tasks[i].AcceptedAt = time.Time{}
	}
	assert.Equal(t, none.Tasks[2].Sid, autoSource(none, RehydrateFromSegment), "no agent ever accepted: the whole session")
}

func TestSameCustomer(t *testing.T) {
	agent := flexhooks.WithCaller(t.Context(), flexhooks.Caller{WorkerSid: pcSid("WK", 1), Roles: []string{"agent"}})
	supervisor := flexhooks.WithCaller(t.Context(), flexhooks.Caller{WorkerSid: pcSid("WK", 2), Roles: []string{"supervisor"}})
	past := pastRecord()
	same := &InteractionRecord{ConversationSid: pcSid("CH", 2), Channel: "sms", CustomerAddress: "+15550001"} // profile not recorded: derived
	otherChannel := &InteractionRecord{ConversationSid: pcSid("CH", 3), OpenedFor: ProfileRef{ProfileID: ProfileID("whatsapp", "whatsapp:+15550001"), CustomerID: "C-1", CustomerLinkedBy: "service"}}
	linkedPast := pastRecord()
	linkedPast.OpenedFor.CustomerID, linkedPast.OpenedFor.CustomerLinkedBy = "C-1", "supervisor:"+pcSid("WK", 2)
	agentLinked := pastRecord() // a link from before links took a supervisor: it names nobody
	agentLinked.OpenedFor.CustomerID = "C-1"
	stranger := &InteractionRecord{ConversationSid: pcSid("CH", 4), OpenedFor: ProfileRef{ProfileID: ProfileID("sms", "+15559999")}}

	assert.NoError(t, sameCustomer(agent, same, past))
	assert.NoError(t, sameCustomer(agent, otherChannel, linkedPast), "profiles linked to one customer")
	assert.Equal(t, flexhooks.EFORBIDDEN, flexhooks.ErrorCode(sameCustomer(agent, otherChannel, agentLinked)), "a link nobody privileged made joins nothing")
	assert.Equal(t, flexhooks.EFORBIDDEN, flexhooks.ErrorCode(sameCustomer(agent, otherChannel, past)))
	assert.Equal(t, flexhooks.EFORBIDDEN, flexhooks.ErrorCode(sameCustomer(agent, stranger, past)))
	assert.NoError(t, sameCustomer(supervisor, stranger, past))
	assert.NoError(t, sameCustomer(t.Context(), stranger, past), "the service's own credentials")
}

func TestWithLink(t *testing.T) {
	url := "https://fh.example/conversations/" + pcSid("CH", 2) + "/transcript"
	tests := []struct {
		name, in    string
		wantChanged bool
		wantErr     bool
	}{
		{"added, the rest kept byte for byte", `{"conversationSid":"CH1","customerAddress":"+1555","n":1.50}`, true, false},
		{"already there", `{"continuedFromContactId":"` + pcSid("WT", 1) + `","transcriptUrl":"` + url + `"}`, false, false},
		{"another link", `{"continuedFromContactId":"` + pcSid("WT", 5) + `","transcriptUrl":"` + url + `"}`, true, false},
		{"empty", ``, true, false},
		{"not an object", `[1]`, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed, err := withLink(tt.in, pcSid("WT", 1), url)
			if tt.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantChanged, changed)
			var m map[string]json.RawMessage
			require.NoError(t, json.Unmarshal([]byte(got), &m))
			assert.JSONEq(t, `"`+pcSid("WT", 1)+`"`, string(m[ContinuedFromAttribute]))
			assert.JSONEq(t, `"`+url+`"`, string(m[TranscriptURLAttribute]))
			if strings.Contains(tt.in, `"n"`) {
				assert.Equal(t, "1.50", string(m["n"]), "other keys are not re-encoded")
			}
		})
	}
}

func TestResultIsTheLinksAlone(t *testing.T) {
	pc := NewPersistentChat(nil, nil, PersistentChatConfig{PublicBaseURL: "https://fh.example/"}, nil)
	cont, err := newContinuation(pastRecord(), pcSid("WT", 1), RehydrateEntirePastSession, DefaultMaxHistory)
	require.NoError(t, err)
	rec := &InteractionRecord{ConversationSid: pcSid("CH", 2), Tasks: []RecordTask{{Sid: pcSid("WT", 9)}}, ContinuedFrom: cont}
	got := pc.result(rec)
	assert.Equal(t, &PersistentChatResult{
		ConversationSid: pcSid("CH", 2), ContactID: pcSid("WT", 9),
		ContinuedFromContactID: pcSid("WT", 3), ContinuedFromConversationSid: pcSid("CH", 1),
		SourceContactID: pcSid("WT", 1), RehydrationType: RehydrateEntirePastSession,
		Sessions: []ChainSession{{ConversationSid: pcSid("CH", 1), InitialContactID: pcSid("WT", 1), UpToContactID: pcSid("WT", 3),
			ContactIDs: []string{pcSid("WT", 1), pcSid("WT", 2), pcSid("WT", 3)}}},
		TranscriptURL: "https://fh.example/conversations/" + pcSid("CH", 2) + "/transcript",
	}, got)
	rec.Tasks = append(rec.Tasks, RecordTask{Sid: pcSid("WT", 10)})
	assert.Equal(t, got, pc.result(rec), "later contacts change nothing")
}
