package conversations

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "github.com/twilio/twilio-go/rest/conversations/v1"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

func TestParticipants(t *testing.T) {
	f := newFixture(t)
	cv := f.c.ConversationsV1
	c, err := cv.CreateConversation(nil)
	require.NoError(t, err)

	agent, err := cv.CreateConversationParticipant(*c.Sid, (&v1.CreateConversationParticipantParams{}).
		SetIdentity("alice").SetAttributes(`{"role":"agent"}`))
	require.NoError(t, err)
	assert.True(t, core.ValidSID("MB", *agent.Sid))
	assert.Equal(t, "alice", *agent.Identity)
	assert.Nil(t, agent.MessagingBinding)

	customer, err := cv.CreateConversationParticipant(*c.Sid, (&v1.CreateConversationParticipantParams{}).
		SetMessagingBindingAddress("+15550001111").SetMessagingBindingProxyAddress("+15559990000"))
	require.NoError(t, err)
	binding := (*customer.MessagingBinding).(map[string]any)
	assert.Equal(t, "sms", binding["type"])
	assert.Equal(t, "+15550001111", binding["address"])
	assert.Equal(t, "+15559990000", binding["proxy_address"])

	_, err = cv.CreateConversationParticipant(*c.Sid, (&v1.CreateConversationParticipantParams{}).SetIdentity("alice"))
	restErr(t, err, 409, codeIdentityTaken)
	_, err = cv.CreateConversationParticipant(*c.Sid, nil)
	restErr(t, err, 400, 20001)
	_, err = cv.CreateConversationParticipant(*c.Sid, (&v1.CreateConversationParticipantParams{}).SetMessagingBindingAddress("+15550002222"))
	restErr(t, err, 400, 20001)
	_, err = cv.CreateConversationParticipant(*c.Sid, (&v1.CreateConversationParticipantParams{}).SetIdentity("x").SetAttributes("nope"))
	restErr(t, err, 400, 20001)

	// The same binding cannot join a second open conversation…
	other, err := cv.CreateConversation(nil)
	require.NoError(t, err)
	binder := (&v1.CreateConversationParticipantParams{}).
		SetMessagingBindingAddress("+15550001111").SetMessagingBindingProxyAddress("+15559990000")
	_, err = cv.CreateConversationParticipant(*other.Sid, binder)
	restErr(t, err, 409, codeBindingTaken)
	// …until the first one is closed.
	_, err = cv.UpdateConversation(*c.Sid, (&v1.UpdateConversationParams{}).SetState("closed"))
	require.NoError(t, err)
	_, err = cv.CreateConversationParticipant(*other.Sid, binder)
	require.NoError(t, err)

	// Fetch by SID and by identity; update; list; delete.
	got, err := cv.FetchConversationParticipant(*other.Sid, *customer.Sid)
	restErr(t, err, 404, 20404)
	_ = got
	p2, err := cv.CreateConversationParticipant(*other.Sid, (&v1.CreateConversationParticipantParams{}).SetIdentity("bob"))
	require.NoError(t, err)
	byID, err := cv.FetchConversationParticipant(*other.Sid, "bob")
	require.NoError(t, err)
	assert.Equal(t, *p2.Sid, *byID.Sid)
	up, err := cv.UpdateConversationParticipant(*other.Sid, *p2.Sid, (&v1.UpdateConversationParticipantParams{}).
		SetAttributes(`{"x":true}`).SetLastReadMessageIndex(3))
	require.NoError(t, err)
	assert.Equal(t, `{"x":true}`, *up.Attributes)
	require.NotNil(t, up.LastReadMessageIndex)
	assert.Equal(t, 3, *up.LastReadMessageIndex)
	_, err = cv.UpdateConversationParticipant(*other.Sid, *p2.Sid, (&v1.UpdateConversationParticipantParams{}).SetAttributes(`7`))
	restErr(t, err, 400, 20001)

	list, err := cv.ListConversationParticipant(*other.Sid, nil)
	require.NoError(t, err)
	assert.Len(t, list, 2)
	require.NoError(t, cv.DeleteConversationParticipant(*other.Sid, *p2.Sid, nil))
	restErr(t, cv.DeleteConversationParticipant(*other.Sid, *p2.Sid, nil), 404, 20404)
}

func TestMessages(t *testing.T) {
	f := newFixture(t)
	cv := f.c.ConversationsV1
	c, err := cv.CreateConversation(nil)
	require.NoError(t, err)
	alice, err := cv.CreateConversationParticipant(*c.Sid, (&v1.CreateConversationParticipantParams{}).SetIdentity("alice"))
	require.NoError(t, err)

	var sids []string
	for i := range 5 {
		m, err := cv.CreateConversationMessage(*c.Sid, (&v1.CreateConversationMessageParams{}).
			SetAuthor("alice").SetBody(fmt.Sprintf("m%d", i)).SetAttributes(`{"i":1}`))
		require.NoError(t, err)
		assert.Equal(t, i, m.Index)
		assert.Equal(t, *alice.Sid, *m.ParticipantSid)
		assert.True(t, core.ValidSID("IM", *m.Sid))
		sids = append(sids, *m.Sid)
	}
	sys, err := cv.CreateConversationMessage(*c.Sid, (&v1.CreateConversationMessageParams{}).SetBody("x"))
	require.NoError(t, err)
	assert.Equal(t, "system", *sys.Author)
	assert.Nil(t, sys.ParticipantSid)

	_, err = cv.CreateConversationMessage(*c.Sid, nil)
	restErr(t, err, 400, 20001)
	_, err = cv.CreateConversationMessage(*c.Sid, (&v1.CreateConversationMessageParams{}).SetBody("x").SetAttributes("[]"))
	restErr(t, err, 400, 20001)

	desc, err := cv.ListConversationMessage(*c.Sid, (&v1.ListConversationMessageParams{}).SetOrder("desc").SetPageSize(2))
	require.NoError(t, err)
	require.Len(t, desc, 6)
	assert.Equal(t, 5, desc[0].Index)
	assert.Equal(t, 0, desc[5].Index)
	_, err = cv.ListConversationMessage(*c.Sid, (&v1.ListConversationMessageParams{}).SetOrder("sideways"))
	restErr(t, err, 400, 20001)

	page, err := cv.PageConversationMessage(*c.Sid, (&v1.ListConversationMessageParams{}).SetPageSize(4), "", "")
	require.NoError(t, err)
	assert.Len(t, page.Messages, 4)
	assert.NotEmpty(t, page.Meta.NextPageUrl)

	m, err := cv.FetchConversationMessage(*c.Sid, sids[2])
	require.NoError(t, err)
	assert.Equal(t, "m2", *m.Body)
	up, err := cv.UpdateConversationMessage(*c.Sid, sids[2], (&v1.UpdateConversationMessageParams{}).SetBody("edited"))
	require.NoError(t, err)
	assert.Equal(t, "edited", *up.Body)

	require.NoError(t, cv.DeleteConversationMessage(*c.Sid, sids[2], nil))
	restErr(t, cv.DeleteConversationMessage(*c.Sid, sids[2], nil), 404, 20404)
	_, err = cv.FetchConversationMessage(*c.Sid, sids[2])
	restErr(t, err, 404, 20404)

	// Index keeps counting after a delete: it is never reused.
	next, err := cv.CreateConversationMessage(*c.Sid, (&v1.CreateConversationMessageParams{}).SetBody("y"))
	require.NoError(t, err)
	assert.Equal(t, 6, next.Index)
}

func TestCrossProductAPI(t *testing.T) {
	f := newFixture(t)
	f.locked(func() {
		s := f.store
		c, err := s.CreateConversation(ConversationParams{FriendlyName: "sms", Attributes: `{"k":"v"}`})
		require.Nil(t, err)
		assert.Equal(t, s.DefaultServiceSID(), c.ServiceSid)
		assert.Same(t, c, s.Conversation(c.Sid))
		assert.Nil(t, s.Conversation("CHnope"))

		_, err = s.CreateConversation(ConversationParams{Attributes: "nope"})
		require.NotNil(t, err)
		assert.Equal(t, 400, err.Status)

		p, err := s.AddParticipant(c.Sid, ParticipantParams{Address: "+15550001111", ProxyAddress: "+15559990000"})
		require.Nil(t, err)
		assert.Equal(t, c.Sid, p.ConversationSid)
		_, err = s.AddParticipant(c.Sid, ParticipantParams{Identity: "alice"})
		require.Nil(t, err)

		assert.Same(t, c, s.OpenConversationFor("+15550001111", "+15559990000"))
		assert.Same(t, c, s.OpenConversationFor("alice", ""))
		assert.Nil(t, s.OpenConversationFor("+15550001111", "+15550000000"))

		m, err := s.AddMessage(c.Sid, MessageParams{Author: "+15550001111", Body: "hello", Source: "SMS"})
		require.Nil(t, err)
		assert.Equal(t, 0, m.Index)
		assert.Equal(t, p.Sid, m.ParticipantSid)

		require.Nil(t, s.RemoveParticipantByIdentity(c.Sid, "alice"))
		require.Nil(t, s.RemoveParticipantByIdentity(c.Sid, "alice")) // absent: no-op
		assert.Nil(t, s.OpenConversationFor("alice", ""))
		require.NotNil(t, s.RemoveParticipantByIdentity("CHnope", "alice"))

		require.Nil(t, s.Close(c.Sid))
		assert.Equal(t, "closed", c.State)
		require.Nil(t, s.Close(c.Sid))
		assert.Nil(t, s.OpenConversationFor("+15550001111", "+15559990000"))
		_, err = s.AddParticipant(c.Sid, ParticipantParams{Identity: "bob"})
		require.NotNil(t, err)
		assert.Equal(t, codeClosed, err.Code)
	})
}
