package conversations

import (
	"encoding/json"
	"fmt"
	"github.com/flexhooks/flexhooks/internal/isoduration"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "github.com/twilio/twilio-go/rest/conversations/v1"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

func TestConversationCRUD(t *testing.T) {
	f := newFixture(t)

	created, err := f.c.ConversationsV1.CreateConversation((&v1.CreateConversationParams{}).
		SetFriendlyName("Support chat").SetUniqueName("order-42").SetAttributes(`{"a":1}`))
	require.NoError(t, err)
	sid := *created.Sid
	assert.True(t, core.ValidSID("CH", sid))
	assert.Equal(t, "active", *created.State)
	assert.Equal(t, f.store.DefaultServiceSID(), *created.ChatServiceSid)
	assert.Equal(t, core.SeedSID("IS", "Flex Chat Service"), *created.ChatServiceSid)
	assert.Equal(t, `{"a":1}`, *created.Attributes)
	assert.Equal(t, "https://conversations.twilio.com/v1/Conversations/"+sid, *created.Url)

	byName, err := f.c.ConversationsV1.FetchConversation("order-42")
	require.NoError(t, err)
	assert.Equal(t, sid, *byName.Sid)

	updated, err := f.c.ConversationsV1.UpdateConversation(sid, (&v1.UpdateConversationParams{}).
		SetFriendlyName("Renamed").SetAttributes(`{"b":2}`).SetState("inactive"))
	require.NoError(t, err)
	assert.Equal(t, "Renamed", *updated.FriendlyName)
	assert.Equal(t, `{"b":2}`, *updated.Attributes)
	assert.Equal(t, "inactive", *updated.State)

	list, err := f.c.ConversationsV1.ListConversation(nil)
	require.NoError(t, err)
	require.Len(t, list, 1)
	inactive, err := f.c.ConversationsV1.ListConversation((&v1.ListConversationParams{}).SetState("active"))
	require.NoError(t, err)
	assert.Empty(t, inactive)

	require.NoError(t, f.c.ConversationsV1.DeleteConversation(sid, nil))
	_, err = f.c.ConversationsV1.FetchConversation(sid)
	restErr(t, err, 404, 20404)
	restErr(t, f.c.ConversationsV1.DeleteConversation(sid, nil), 404, 20404)
}

func TestServiceScopedConversations(t *testing.T) {
	f := newFixture(t)
	svc := f.store.DefaultServiceSID()
	c, err := f.c.ConversationsV1.CreateServiceConversation(svc, (&v1.CreateServiceConversationParams{}).SetFriendlyName("x"))
	require.NoError(t, err)
	assert.Equal(t, svc, *c.ChatServiceSid)

	got, err := f.c.ConversationsV1.FetchServiceConversation(svc, *c.Sid)
	require.NoError(t, err)
	assert.Equal(t, *c.Sid, *got.Sid)

	// Conversations of the default service are the same through both URL forms.
	_, err = f.c.ConversationsV1.FetchConversation(*c.Sid)
	require.NoError(t, err)

	_, err = f.c.ConversationsV1.CreateServiceConversationMessage(svc, *c.Sid, (&v1.CreateServiceConversationMessageParams{}).SetBody("hi"))
	require.NoError(t, err)
	msgs, err := f.c.ConversationsV1.ListServiceConversationMessage(svc, *c.Sid, nil)
	require.NoError(t, err)
	require.Len(t, msgs, 1)

	unknown := core.SeedSID("IS", "nope")
	_, err = f.c.ConversationsV1.FetchServiceConversation(unknown, *c.Sid)
	restErr(t, err, 404, 20404)
	_, err = f.c.ConversationsV1.ListServiceConversation(unknown, nil)
	restErr(t, err, 404, 20404)
}

func TestConversationValidation(t *testing.T) {
	f := newFixture(t)
	cv := f.c.ConversationsV1

	_, err := cv.CreateConversation((&v1.CreateConversationParams{}).SetAttributes(`[1,2]`))
	restErr(t, err, 400, 20001)
	_, err = cv.CreateConversation((&v1.CreateConversationParams{}).SetAttributes(`{bad`))
	restErr(t, err, 400, 20001)
	_, err = cv.CreateConversation((&v1.CreateConversationParams{}).SetState("closed"))
	restErr(t, err, 400, codeInitialClosed)
	_, err = cv.CreateConversation((&v1.CreateConversationParams{}).SetState("initializing"))
	restErr(t, err, 400, 20001)
	_, err = cv.CreateConversation((&v1.CreateConversationParams{}).SetTimersInactive("PT30S"))
	restErr(t, err, 400, 20001)
	_, err = cv.CreateConversation((&v1.CreateConversationParams{}).SetTimersClosed("PT5M"))
	restErr(t, err, 400, 20001)
	_, err = cv.CreateConversation((&v1.CreateConversationParams{}).SetTimersClosed("soon"))
	restErr(t, err, 400, 20001)

	_, err = cv.CreateConversation((&v1.CreateConversationParams{}).SetUniqueName("dup"))
	require.NoError(t, err)
	_, err = cv.CreateConversation((&v1.CreateConversationParams{}).SetUniqueName("dup"))
	restErr(t, err, 409, codeUniqueNameTaken)

	c, err := cv.CreateConversation(nil)
	require.NoError(t, err)
	_, err = cv.UpdateConversation(*c.Sid, (&v1.UpdateConversationParams{}).SetState("initializing"))
	restErr(t, err, 400, 20001)
	_, err = cv.UpdateConversation(*c.Sid, (&v1.UpdateConversationParams{}).SetAttributes("nope"))
	restErr(t, err, 400, 20001)

	_, err = cv.FetchConversation("CH00000000000000000000000000000000")
	restErr(t, err, 404, 20404)
	_, err = cv.FetchConversation("garbage")
	restErr(t, err, 404, 20404)
}

func TestClosedIsFinal(t *testing.T) {
	f := newFixture(t)
	cv := f.c.ConversationsV1
	c, err := cv.CreateConversation(nil)
	require.NoError(t, err)
	_, err = cv.CreateConversationParticipant(*c.Sid, (&v1.CreateConversationParticipantParams{}).SetIdentity("alice"))
	require.NoError(t, err)
	closed, err := cv.UpdateConversation(*c.Sid, (&v1.UpdateConversationParams{}).SetState("closed"))
	require.NoError(t, err)
	assert.Equal(t, "closed", *closed.State)

	_, err = cv.UpdateConversation(*c.Sid, (&v1.UpdateConversationParams{}).SetState("active"))
	restErr(t, err, 400, codeClosed)
	_, err = cv.UpdateConversation(*c.Sid, (&v1.UpdateConversationParams{}).SetFriendlyName("x"))
	restErr(t, err, 400, codeClosed)
	_, err = cv.CreateConversationMessage(*c.Sid, (&v1.CreateConversationMessageParams{}).SetBody("hello?"))
	restErr(t, err, 400, codeClosed)
	_, err = cv.CreateConversationParticipant(*c.Sid, (&v1.CreateConversationParticipantParams{}).SetIdentity("bob"))
	restErr(t, err, 400, codeClosed)
	_, err = cv.CreateConversationScopedWebhook(*c.Sid, (&v1.CreateConversationScopedWebhookParams{}).
		SetTarget("webhook").SetConfigurationUrl("https://example.com/x"))
	restErr(t, err, 400, codeClosed)

	f.locked(func() {
		_, cerr := f.store.AddMessage(*c.Sid, MessageParams{Author: "+15550001111", Body: "hi", Source: "SMS"})
		require.NotNil(t, cerr)
		assert.Equal(t, codeClosed, cerr.Code)
	})

	// Reading and deleting still work.
	_, err = cv.FetchConversation(*c.Sid)
	require.NoError(t, err)
	require.NoError(t, cv.DeleteConversationParticipant(*c.Sid, "alice", nil))
}

func TestTimers(t *testing.T) {
	f := newFixture(t)
	cv := f.c.ConversationsV1
	c, err := cv.CreateConversation((&v1.CreateConversationParams{}).SetTimersInactive("PT5M").SetTimersClosed("PT30M"))
	require.NoError(t, err)
	timers := (*c.Timers).(map[string]any)
	assert.Equal(t, core.ISO(start.Add(5*time.Minute)), timers["date_inactive"])
	assert.Equal(t, core.ISO(start.Add(30*time.Minute)), timers["date_closed"])

	state := func() string {
		got, err := cv.FetchConversation(*c.Sid)
		require.NoError(t, err)
		return *got.State
	}

	f.advance(4 * time.Minute)
	assert.Equal(t, "active", state())

	// A message at minute 4 restarts both timers from there.
	_, err = cv.CreateConversationMessage(*c.Sid, (&v1.CreateConversationMessageParams{}).SetBody("still here"))
	require.NoError(t, err)
	f.advance(4 * time.Minute) // minute 8: the first deadline (5) has passed, the new one (9) not
	assert.Equal(t, "active", state())
	f.advance(time.Minute + time.Second)
	assert.Equal(t, "inactive", state())

	got, err := cv.FetchConversation(*c.Sid)
	require.NoError(t, err)
	timers = (*got.Timers).(map[string]any)
	assert.Nil(t, timers["date_inactive"])
	assert.Equal(t, core.ISO(start.Add(34*time.Minute)), timers["date_closed"])

	// A message on an inactive conversation makes it active again.
	_, err = cv.CreateConversationMessage(*c.Sid, (&v1.CreateConversationMessageParams{}).SetBody("back"))
	require.NoError(t, err)
	assert.Equal(t, "active", state())

	// Left alone: inactive after 5 minutes, closed after 30.
	f.advance(5 * time.Minute)
	assert.Equal(t, "inactive", state())
	f.advance(25 * time.Minute)
	assert.Equal(t, "closed", state())
	_, err = cv.CreateConversationMessage(*c.Sid, (&v1.CreateConversationMessageParams{}).SetBody("too late"))
	restErr(t, err, 400, codeClosed)
}

func TestTimersUpdateRearms(t *testing.T) {
	f := newFixture(t)
	cv := f.c.ConversationsV1
	c, err := cv.CreateConversation(nil)
	require.NoError(t, err)
	f.advance(time.Hour)
	_, err = cv.UpdateConversation(*c.Sid, (&v1.UpdateConversationParams{}).SetTimersClosed("PT10M"))
	require.NoError(t, err)
	f.advance(10 * time.Minute)
	got, err := cv.FetchConversation(*c.Sid)
	require.NoError(t, err)
	assert.Equal(t, "closed", *got.State)
}

func TestConversationPaging(t *testing.T) {
	f := newFixture(t)
	for i := range 7 {
		_, err := f.c.ConversationsV1.CreateConversation((&v1.CreateConversationParams{}).SetFriendlyName(fmt.Sprint(i)))
		require.NoError(t, err)
	}
	page, err := f.c.ConversationsV1.PageConversation((&v1.ListConversationParams{}).SetPageSize(3), "", "")
	require.NoError(t, err)
	require.Len(t, page.Conversations, 3)
	require.NotEmpty(t, page.Meta.NextPageUrl)

	all, err := f.c.ConversationsV1.ListConversation((&v1.ListConversationParams{}).SetPageSize(3))
	require.NoError(t, err)
	require.Len(t, all, 7)
	for i, c := range all {
		assert.Equal(t, fmt.Sprint(i), *c.FriendlyName)
	}
	limited, err := f.c.ConversationsV1.ListConversation((&v1.ListConversationParams{}).SetPageSize(2).SetLimit(5))
	require.NoError(t, err)
	assert.Len(t, limited, 5)
}

func TestSnapshot(t *testing.T) {
	f := newFixture(t)
	c, err := f.c.ConversationsV1.CreateConversation((&v1.CreateConversationParams{}).SetTimersInactive("PT1H30M"))
	require.NoError(t, err)
	_, err = f.c.ConversationsV1.CreateConversationParticipant(*c.Sid, (&v1.CreateConversationParticipantParams{}).
		SetMessagingBindingAddress("+15550001111").SetMessagingBindingProxyAddress("+15559990000"))
	require.NoError(t, err)
	_, err = f.c.ConversationsV1.CreateConversationMessage(*c.Sid, (&v1.CreateConversationMessageParams{}).SetBody("hi"))
	require.NoError(t, err)
	_, err = f.c.ConversationsV1.CreateConversationScopedWebhook(*c.Sid, (&v1.CreateConversationScopedWebhookParams{}).
		SetTarget("webhook").SetConfigurationUrl("https://example.com/x").SetConfigurationFilters([]string{"onMessageAdded"}))
	require.NoError(t, err)

	var snap snapshot
	f.locked(func() {
		b, err := json.Marshal(f.store.Snapshot())
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, &snap))
	})
	require.Len(t, snap.Conversations, 1)
	cs := snap.Conversations[0]
	assert.Equal(t, "active", cs.State)
	assert.Equal(t, "PT1H30M", cs.Timers.Inactive)
	require.NotNil(t, cs.Timers.DateInactive)
	require.Len(t, cs.Participants, 1)
	assert.Equal(t, "+15550001111", cs.Participants[0].Address)
	require.Len(t, cs.Messages, 1)
	require.Len(t, cs.Webhooks, 1)
	assert.Equal(t, f.store.DefaultServiceSID(), snap.DefaultServiceSid)
}

func TestISODuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, ""}, {time.Minute, "PT1M"}, {90 * time.Minute, "PT1H30M"}, {25 * time.Hour, "P1DT1H"},
		{48 * time.Hour, "P2D"}, {61 * time.Second, "PT1M1S"},
	} {
		assert.Equal(t, tc.want, isoDuration(tc.d), tc.d.String())
		if tc.want != "" {
			back, err := isoduration.Parse(tc.want)
			require.NoError(t, err)
			assert.Equal(t, tc.d, back)
		}
	}
}

func TestOnConversationClosedHook(t *testing.T) {
	f := newFixture(t)
	var closed []string
	f.store.OnConversationClosed = func(c *Conversation) { closed = append(closed, c.Sid+":"+c.State) }
	cv := f.c.ConversationsV1

	byREST, err := cv.CreateConversation(nil)
	require.NoError(t, err)
	_, err = cv.UpdateConversation(*byREST.Sid, (&v1.UpdateConversationParams{}).SetState("closed"))
	require.NoError(t, err)

	byTimer, err := cv.CreateConversation((&v1.CreateConversationParams{}).SetTimersClosed("PT10M"))
	require.NoError(t, err)
	f.advance(10 * time.Minute)

	var byClose *Conversation
	f.locked(func() {
		var cerr *core.Error
		byClose, cerr = f.store.CreateConversation(ConversationParams{})
		require.Nil(t, cerr)
		require.Nil(t, f.store.Close(byClose.Sid))
		require.Nil(t, f.store.Close(byClose.Sid)) // already closed: no second call
	})
	f.locked(func() {
		assert.Equal(t, []string{*byREST.Sid + ":closed", *byTimer.Sid + ":closed", byClose.Sid + ":closed"}, closed)
	})
}
