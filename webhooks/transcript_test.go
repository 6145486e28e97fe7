package webhooks

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flexhooks/flexhooks"
)

// fakeMessages serves conversations' messages 100 a page, as the adapter
// does (its cursor is an offset), and counts the calls.
type fakeMessages struct {
	mu    sync.Mutex
	convs map[string][]ConversationMessage
	gone  map[string]bool
	calls int
}

func newFakeMessages() *fakeMessages {
	return &fakeMessages{convs: map[string][]ConversationMessage{}, gone: map[string]bool{}}
}

// add gives a conversation n messages, one a minute from start, bodies
// "<csid tag>-<i>".
func (f *fakeMessages) add(csid string, n int, start time.Time) {
	for i := range n {
		f.convs[csid] = append(f.convs[csid], ConversationMessage{
			Sid: pcSid("IM", len(f.convs[csid])+1), Index: i, Author: "a", Body: csid[len(csid)-2:] + "-" + strconv.Itoa(i),
			DateCreated: start.Add(time.Duration(i) * time.Minute),
		})
	}
}

func (f *fakeMessages) list(_ context.Context, csid, cursor string) (MessagePage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.gone[csid] {
		return MessagePage{}, flexhooks.Errorf(flexhooks.ENOTFOUND, "gone")
	}
	off := 0
	if cursor != "" {
		off, _ = strconv.Atoi(cursor)
	}
	all := f.convs[csid]
	end := min(off+messagesPerCall, len(all))
	page := MessagePage{Messages: all[min(off, len(all)):end]}
	if end < len(all) {
		page.Next = strconv.Itoa(end)
	}
	return page, nil
}

func TestReadTranscript(t *testing.T) {
	s1, s2, cur := pcSid("CH", 0x11), pcSid("CH", 0x22), pcSid("CH", 0x33)
	sessions := func(until time.Time) []transcriptSession {
		return []transcriptSession{
			{conversationSid: s1, contacts: []RecordTask{{Sid: pcSid("WT", 1), CreatedAt: pcAt(0)}}},
			{conversationSid: s2, until: until, contacts: []RecordTask{{Sid: pcSid("WT", 2), CreatedAt: pcAt(1000)}}},
			{conversationSid: cur, current: true, contacts: []RecordTask{{Sid: pcSid("WT", 3), CreatedAt: pcAt(5000)}}},
		}
	}
	f := newFakeMessages()
	f.add(s1, 167, pcAt(0))
	f.add(s2, 167, pcAt(1000))
	f.add(cur, 166, pcAt(5000))

	readAll := func(t *testing.T, ss []transcriptSession, size int) (bodies []string, pages, calls int) {
		f.calls = 0
		c := transcriptCursor{Conversation: cur, N: len(ss)}
		for {
			p, err := readTranscript(t.Context(), f.list, ss, c, size)
			require.NoError(t, err)
			pages++
			require.LessOrEqual(t, len(p.messages), size)
			for _, m := range p.messages {
				bodies = append(bodies, m.Body)
			}
			if p.next == nil {
				return bodies, pages, f.calls
			}
			require.NotEmpty(t, p.messages, "no empty page but the last")
			// The cursor survives its token.
			c, err = decodeTranscriptCursor(p.next.encode())
			require.NoError(t, err)
			require.Less(t, pages, 1000)
		}
	}
	want := func(until int) []string {
		var out []string
		for _, s := range []string{s1, s2, cur} {
			for i, m := range f.convs[s] {
				if s == s2 && until >= 0 && i > until {
					break
				}
				out = append(out, m.Body)
			}
		}
		return out
	}

	tests := []struct {
		name      string
		until     time.Time
		cutAfter  int // last message of s2 shown, -1 for all
		size      int
		wantPages int
		maxCalls  int
	}{
		// 500 messages whole: every session's two pages, side by side.
		{name: "one large page", size: 1000, cutAfter: -1, wantPages: 1, maxCalls: 6},
		{name: "pages of 100", size: 100, cutAfter: -1, wantPages: 5, maxCalls: 12},
		{name: "pages of 7", size: 7, cutAfter: -1, wantPages: 72, maxCalls: 80},
		{name: "pages of 250", size: 250, cutAfter: -1, wantPages: 2, maxCalls: 8},
		// FROM_SEGMENT: s2 cut after its 50th message; its second page is never read.
		{name: "cut", until: pcAt(1000 + 49), cutAfter: 49, size: 1000, wantPages: 1, maxCalls: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, pages, calls := readAll(t, sessions(tt.until), tt.size)
			assert.Equal(t, want(tt.cutAfter), got)
			assert.Equal(t, tt.wantPages, pages)
			assert.LessOrEqual(t, calls, tt.maxCalls)
		})
	}

	t.Run("a small first page reads one session only", func(t *testing.T) {
		f.calls = 0
		p, err := readTranscript(t.Context(), f.list, sessions(time.Time{}), transcriptCursor{Conversation: cur, N: 3}, 20)
		require.NoError(t, err)
		assert.Len(t, p.messages, 20)
		assert.Equal(t, 1, f.calls)
		assert.Equal(t, []string{SessionRead, "", ""}, p.status)
	})

	t.Run("a session Twilio no longer has is reported and skipped", func(t *testing.T) {
		f.gone[s2] = true
		defer delete(f.gone, s2)
		p, err := readTranscript(t.Context(), f.list, sessions(time.Time{}), transcriptCursor{Conversation: cur, N: 3}, 1000)
		require.NoError(t, err)
		assert.Len(t, p.messages, 167+166)
		assert.Equal(t, []string{SessionRead, SessionUnavailable, SessionRead}, p.status)
		assert.Nil(t, p.next)
	})

	t.Run("each message names its session and contact", func(t *testing.T) {
		p, err := readTranscript(t.Context(), f.list, sessions(time.Time{}), transcriptCursor{Conversation: cur, N: 3}, 1000)
		require.NoError(t, err)
		first, last := p.messages[0], p.messages[len(p.messages)-1]
		assert.Equal(t, s1, first.ConversationSid)
		assert.Equal(t, pcSid("WT", 1), first.ContactID)
		assert.Equal(t, cur, last.ConversationSid)
		assert.Equal(t, pcSid("WT", 3), last.ContactID)
	})

	t.Run("a failure is the page's", func(t *testing.T) {
		failing := func(context.Context, string, string) (MessagePage, error) {
			return MessagePage{}, flexhooks.Errorf(flexhooks.EUNAVAILABLE, "down")
		}
		_, err := readTranscript(t.Context(), failing, sessions(time.Time{}), transcriptCursor{Conversation: cur, N: 3}, 10)
		assert.Equal(t, flexhooks.EUNAVAILABLE, flexhooks.ErrorCode(err))
	})
}

func TestContactAt(t *testing.T) {
	contacts := []RecordTask{
		{Sid: "C1", CreatedAt: pcAt(0), EndedAt: pcAt(10)},
		{Sid: "C2", CreatedAt: pcAt(9), EndedAt: pcAt(20)}, // warm: overlaps C1
		{Sid: "C3", CreatedAt: pcAt(22)},                   // still live
	}
	tests := []struct {
		name string
		at   time.Time
		want string
	}{
		{"before any task: the customer's first message", pcAt(-1), "C1"},
		{"C1 alone", pcAt(5), "C1"},
		{"both live: the newest", pcAt(9).Add(30 * time.Second), "C2"},
		{"between C2's end and C3: the one that just ended", pcAt(21), "C2"},
		{"C3", pcAt(30), "C3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, contactAt(contacts, tt.at))
		})
	}
	assert.Empty(t, contactAt(nil, pcAt(0)))
}

func TestTranscriptRequestValidate(t *testing.T) {
	csid := pcSid("CH", 1)
	good := transcriptCursor{Conversation: csid, N: 2, S: 1, P: "PageToken=PT100", K: 3}.encode()
	other := transcriptCursor{Conversation: pcSid("CH", 2), N: 2}.encode()
	outOfRange := transcriptCursor{Conversation: csid, N: 2, S: 2}.encode()
	tests := []struct {
		name  string
		req   TranscriptRequest
		field string
	}{
		{"defaults", TranscriptRequest{ConversationSid: csid}, ""},
		{"a page token of this transcript", TranscriptRequest{ConversationSid: csid, PageSize: 1000, PageToken: good}, ""},
		{"bad sid", TranscriptRequest{ConversationSid: "CH"}, "conversationSid"},
		{"too large", TranscriptRequest{ConversationSid: csid, PageSize: 1001}, "pageSize"},
		{"negative", TranscriptRequest{ConversationSid: csid, PageSize: -1}, "pageSize"},
		{"garbage token", TranscriptRequest{ConversationSid: csid, PageToken: "!!"}, "pageToken"},
		{"another transcript's token", TranscriptRequest{ConversationSid: csid, PageToken: other}, "pageToken"},
		{"out of range", TranscriptRequest{ConversationSid: csid, PageToken: outOfRange}, "pageToken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.req.Validate()
			if tt.field == "" {
				assert.NoError(t, err)
				return
			}
			var fe *flexhooks.Error
			require.ErrorAs(t, err, &fe)
			assert.Contains(t, fe.Fields, tt.field)
		})
	}
}
