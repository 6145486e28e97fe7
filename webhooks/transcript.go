package webhooks

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"

	"github.com/flexhooks/flexhooks"
)

// Transcript page sizes. A page may span sessions; the largest one holds a
// long history whole, so that an agent's UI reads it in one request.
const (
	defaultTranscriptPage = 100
	maxTranscriptPage     = 1000
	// messagesPerCall is how many messages one Twilio call returns (the
	// adapter asks for Twilio's largest page): what the reader plans its
	// calls with.
	messagesPerCall = 100
)

// Session statuses in a transcript page.
const (
	// SessionRead: the page read the session's messages from Twilio.
	SessionRead = "read"
	// SessionUnavailable: Twilio no longer has the conversation (deleted,
	// or past its retention); its messages cannot be shown.
	SessionUnavailable = "unavailable"
)

// TranscriptRequest is GET /conversations/{conversationSid}/transcript.
type TranscriptRequest struct {
	ConversationSid string `json:"conversationSid"`
	PageSize        int    `json:"pageSize"`
	PageToken       string `json:"pageToken"`
}

// Validate checks the fields; a page token must be one of this transcript.
func (r *TranscriptRequest) Validate() error {
	f := fieldErrors{}
	f.sid("conversationSid", r.ConversationSid, "CH")
	if r.PageSize < 0 || r.PageSize > maxTranscriptPage {
		f["pageSize"] = "must be between 1 and " + strconv.Itoa(maxTranscriptPage)
	}
	if r.PageToken != "" {
		if c, err := decodeTranscriptCursor(r.PageToken); err != nil || (r.ConversationSid != "" && c.Conversation != r.ConversationSid) {
			f["pageToken"] = "is not a page token of this transcript"
		}
	}
	return f.err()
}

// Transcript is a page of a conversation's transcript: the messages of the
// past sessions it continues, then its own, in order.
type Transcript struct {
	ConversationSid        string `json:"conversationSid"`
	ContinuedFromContactID string `json:"continuedFromContactId,omitempty"`
	RehydrationType        string `json:"rehydrationType,omitempty"`
	// Sessions are every session of the transcript, oldest first, the
	// conversation itself last, each with what this page found of it.
	Sessions      []TranscriptSession `json:"sessions"`
	Messages      []TranscriptMessage `json:"messages"`
	NextPageToken string              `json:"nextPageToken,omitempty"`
}

// TranscriptSession is one session (conversation) of a transcript.
type TranscriptSession struct {
	ConversationSid string `json:"conversationSid"`
	// Current marks the conversation the transcript is of.
	Current bool `json:"current,omitempty"`
	// UpToContactID is the last contact of a past session shown; Until, when
	// it ended: messages after it are left out (FROM_SEGMENT).
	UpToContactID string     `json:"upToContactId,omitempty"`
	Until         *time.Time `json:"until,omitempty"`
	ContactIDs    []string   `json:"contactIds"`
	// Status is what this page found: "read" (its messages were read from
	// Twilio), "unavailable" (Twilio no longer has the conversation: its
	// messages are missing, and Note says so), or absent when the page did
	// not reach it.
	Status string `json:"status,omitempty"`
	Note   string `json:"note,omitempty"`
}

// TranscriptMessage is one message, with the session and the contact it
// was sent in (the contact live when it was sent).
type TranscriptMessage struct {
	ConversationSid string    `json:"conversationSid"`
	ContactID       string    `json:"contactId,omitempty"`
	MessageSid      string    `json:"messageSid"`
	Index           int       `json:"index"`
	Author          string    `json:"author"`
	Body            string    `json:"body"`
	Media           int       `json:"media,omitempty"`
	DateCreated     time.Time `json:"dateCreated"`
}

// transcriptCursor is where a transcript page starts: session S (its index
// in the transcript's N sessions), Twilio's page P of it, K messages into
// that page. N tells a token taken before the conversation was linked (its
// sessions then changed) from a current one.
type transcriptCursor struct {
	Conversation string `json:"c"`
	N            int    `json:"n"`
	S            int    `json:"s"`
	P            string `json:"p,omitempty"`
	K            int    `json:"k,omitempty"`
}

func (c transcriptCursor) encode() string {
	b, _ := json.Marshal(c) // a struct of strings and ints always encodes
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeTranscriptCursor(tok string) (transcriptCursor, error) {
	var c transcriptCursor
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err == nil && (c.S < 0 || c.S >= c.N || c.K < 0 || c.K >= messagesPerCall*10) {
		err = flexhooks.Errorf(flexhooks.EINVALID, "page token out of range")
	}
	return c, err
}

// Transcript returns a page of a conversation's transcript: the past
// sessions it continues (from its link) then its own messages, each with
// its conversation and contact, read from Twilio. Who may read it is who
// may read the conversation's record: agents it was assigned to,
// supervisors.
//
// Round trips: the record, then the sessions side by side, each paging
// through Twilio 100 messages a call: 1 + the longest session's calls for
// the page (a 500-message history of 3 sessions read whole: 3).
func (pc *PersistentChat) Transcript(ctx context.Context, req TranscriptRequest) (*Transcript, error) {
	rec, _, err := pc.in.readable(ctx, req.ConversationSid)
	if err != nil {
		return nil, err
	}
	sessions := transcriptSessions(rec)
	cur := transcriptCursor{Conversation: rec.ConversationSid, N: len(sessions)}
	if req.PageToken != "" {
		if cur, err = decodeTranscriptCursor(req.PageToken); err != nil || cur.N != len(sessions) {
			return nil, flexhooks.Invalid(map[string]string{"pageToken": "is not a page token of this transcript as it is now (it continues a past session since): start again without one"})
		}
	}
	size := cmpOr(req.PageSize, defaultTranscriptPage)
	page, err := readTranscript(ctx, pc.tw.ListConversationMessages, sessions, cur, size)
	if err != nil {
		return nil, err
	}
	out := &Transcript{ConversationSid: rec.ConversationSid, Messages: page.messages, Sessions: make([]TranscriptSession, len(sessions))}
	if cf := rec.ContinuedFrom; cf != nil {
		out.ContinuedFromContactID, out.RehydrationType = cf.ContactID, cf.RehydrationType
	}
	if page.next != nil {
		out.NextPageToken = page.next.encode()
	}
	for i, s := range sessions {
		ts := TranscriptSession{ConversationSid: s.conversationSid, Current: s.current, Until: timePtr(s.until),
			ContactIDs: make([]string, 0, len(s.contacts)), Status: page.status[i]}
		if !s.current {
			ts.UpToContactID = s.upTo
		}
		for _, c := range s.contacts {
			ts.ContactIDs = append(ts.ContactIDs, c.Sid)
		}
		if ts.Status == SessionUnavailable {
			ts.Note = "Twilio no longer has this conversation (deleted, or past its retention): its messages cannot be shown"
			pc.log.InfoContext(ctx, "transcript: a past conversation is gone from Twilio",
				"conversationSid", rec.ConversationSid, "pastConversationSid", s.conversationSid)
		}
		out.Sessions[i] = ts
	}
	return out, nil
}

// transcriptSession is one session a transcript reads.
type transcriptSession struct {
	conversationSid string
	// until cuts the session's messages after it (zero: none cut).
	until    time.Time
	upTo     string
	contacts []RecordTask
	current  bool
}

// transcriptSessions are the sessions of rec's transcript, oldest first:
// its link's history, then rec itself.
func transcriptSessions(rec *InteractionRecord) []transcriptSession {
	var out []transcriptSession
	if cf := rec.ContinuedFrom; cf != nil {
		for _, h := range cf.History {
			out = append(out, transcriptSession{conversationSid: h.ConversationSid, until: h.Until, upTo: h.UpToContactID, contacts: h.Contacts})
		}
	}
	return append(out, transcriptSession{conversationSid: rec.ConversationSid, contacts: rec.Tasks, current: true})
}

// listMessagesFunc reads one page of a conversation's messages.
type listMessagesFunc func(ctx context.Context, conversationSid, cursor string) (MessagePage, error)

// transcriptPage is what readTranscript found.
type transcriptPage struct {
	messages []TranscriptMessage
	// next is where the next page starts; nil after the last.
	next *transcriptCursor
	// status is SessionRead or SessionUnavailable for each session this
	// page fetched from, "" for the others.
	status []string
}

// stream is a session being read: its messages fetched but not yet
// delivered, and where Twilio's paging of it stands.
type stream struct {
	s       transcriptSession
	next    string // Twilio cursor of the next page to fetch
	skip    int    // messages to drop from that page (already delivered)
	done    bool   // nothing more to fetch: last page read, or cut
	missing bool   // Twilio answered 404
	fetched bool
	buf     []buffered
	err     error
}

// buffered is a fetched message and where it was found, so that a page
// ending on it can start the next one there.
type buffered struct {
	m      ConversationMessage
	cursor string // the Twilio page it is on
	offset int    // its position on that page
}

// fetch reads the stream's next page from Twilio.
func (st *stream) fetch(ctx context.Context, list listMessagesFunc) {
	cursor := st.next
	page, err := list(ctx, st.s.conversationSid, cursor)
	st.fetched = true
	switch {
	case isNotFound(err):
		st.missing, st.done = true, true
		return
	case err != nil:
		st.err = err
		return
	}
	for i, m := range page.Messages {
		if i < st.skip {
			continue
		}
		if !st.s.until.IsZero() && m.DateCreated.After(st.s.until) {
			// Messages come oldest first: every later one is past the cut too.
			st.done = true
			break
		}
		st.buf = append(st.buf, buffered{m: m, cursor: cursor, offset: i})
	}
	st.skip = 0
	if !st.done {
		// A next page that is this one again would never end: take it as
		// the last.
		st.next = page.Next
		st.done = page.Next == "" || page.Next == cursor
	}
}

// readTranscript reads one page of size messages from sessions, starting at
// cur. It plans its Twilio calls in rounds, each round's calls side by
// side: a round fetches the next page of every unfinished session whose
// messages the page may still need, given at most messagesPerCall a call,
// and stops adding sessions once the pages it plans can fill the page. A
// large page thus reads every session at once; a small one reads only the
// session it is in. It reads no further than the page: whether more follows
// a page that ends where a fetched page ended is not known, so the last
// page of a transcript may be empty (one more call for the client, rather
// than one more sequential Twilio call on every page).
func readTranscript(ctx context.Context, list listMessagesFunc, sessions []transcriptSession, cur transcriptCursor, size int) (transcriptPage, error) {
	streams := make([]*stream, len(sessions))
	for i, s := range sessions {
		streams[i] = &stream{s: s}
	}
	first := cur.S
	streams[first].next, streams[first].skip = cur.P, cur.K
	need := size
	for {
		// Enough in hand? Only what sessions read to their end are
		// followed by the next one's messages.
		have, complete := 0, true
		for _, st := range streams[first:] {
			have += len(st.buf)
			if !st.done {
				complete = false
				break
			}
		}
		if have >= need || complete {
			break
		}
		var round []*stream
		capacity := 0
		for _, st := range streams[first:] {
			capacity += len(st.buf)
			if capacity >= need {
				break
			}
			if !st.done {
				round = append(round, st)
				capacity += messagesPerCall - st.skip
			}
		}
		fns := make([]func(), len(round))
		for i, st := range round {
			fns[i] = func() { st.fetch(ctx, list) }
		}
		parallel(fns...)
		for _, st := range round {
			if st.err != nil {
				return transcriptPage{}, st.err
			}
		}
	}

	page := transcriptPage{messages: make([]TranscriptMessage, 0, size), status: make([]string, len(sessions))}
	for i, st := range streams {
		switch {
		case st.missing:
			page.status[i] = SessionUnavailable
		case st.fetched:
			page.status[i] = SessionRead
		}
	}
	for j := first; j < len(streams); j++ {
		st := streams[j]
		for _, b := range st.buf {
			if len(page.messages) == size {
				page.next = &transcriptCursor{Conversation: cur.Conversation, N: cur.N, S: j, P: b.cursor, K: b.offset}
				return page, nil
			}
			page.messages = append(page.messages, transcriptMessage(st.s, b.m))
		}
		if !st.done {
			// The page is full at the end of what was fetched of this
			// session: the next one starts at its next Twilio page.
			page.next = &transcriptCursor{Conversation: cur.Conversation, N: cur.N, S: j, P: st.next}
			return page, nil
		}
	}
	return page, nil
}

func transcriptMessage(s transcriptSession, m ConversationMessage) TranscriptMessage {
	return TranscriptMessage{
		ConversationSid: s.conversationSid, ContactID: contactAt(s.contacts, m.DateCreated),
		MessageSid: m.Sid, Index: m.Index, Author: m.Author, Body: m.Body, Media: m.Media, DateCreated: m.DateCreated,
	}
}

// contactAt is the contact live when a message was sent at t: the newest
// contact started by then and not ended before it; else the newest started
// (a message between a contact's end and the next one's start belongs to
// the one that just ended); else the first (the customer's first message
// comes before the first task). Twilio gives message times to the second,
// so within the second a contact starts or ends the attribution is a guess.
func contactAt(contacts []RecordTask, t time.Time) string {
	var live, started string
	for _, c := range contacts {
		if c.CreatedAt.IsZero() || c.CreatedAt.Truncate(time.Second).After(t) {
			continue
		}
		started = c.Sid
		if c.EndedAt.IsZero() || !c.EndedAt.Before(t) {
			live = c.Sid
		}
	}
	switch {
	case live != "":
		return live
	case started != "":
		return started
	case len(contacts) > 0:
		return contacts[0].Sid
	}
	return ""
}
