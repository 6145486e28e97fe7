package conversations

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "github.com/twilio/twilio-go/rest/conversations/v1"
)

// Whether a message restarts an active conversation's inactivity timer is
// undocumented: with the switch off, the timer keeps counting from when it
// was armed (TestTimers pins the other side).
func TestVariantMessageDoesNotRestartTimer(t *testing.T) {
	f := newFixture(t)
	f.locked(func() { f.env.Behaviour.InactiveTimerRestartsOnMessage = false })
	cv := f.c.ConversationsV1
	c, err := cv.CreateConversation((&v1.CreateConversationParams{}).SetTimersInactive("PT5M"))
	require.NoError(t, err)
	f.advance(4 * time.Minute)
	_, err = cv.CreateConversationMessage(*c.Sid, (&v1.CreateConversationMessageParams{}).SetBody("still here"))
	require.NoError(t, err)
	f.advance(time.Minute + time.Second)
	got, err := cv.FetchConversation(*c.Sid)
	require.NoError(t, err)
	assert.Equal(t, "inactive", *got.State, "five minutes after arming, whatever was said")

	// A message still wakes an inactive conversation (documented).
	_, err = cv.CreateConversationMessage(*c.Sid, (&v1.CreateConversationMessageParams{}).SetBody("back"))
	require.NoError(t, err)
	got, err = cv.FetchConversation(*c.Sid)
	require.NoError(t, err)
	assert.Equal(t, "active", *got.State)
}

// Whether message events carry Source is undocumented: with the switch off
// they do not.
func TestVariantMessageEventsWithoutSource(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t)
	f.locked(func() { f.env.Behaviour.MessageAddedSource = false })
	cv := f.c.ConversationsV1
	c, err := cv.CreateConversation(nil)
	require.NoError(t, err)
	_, err = cv.CreateConversationScopedWebhook(*c.Sid, (&v1.CreateConversationScopedWebhookParams{}).
		SetTarget("webhook").SetConfigurationUrl(rc.srv.URL+"/scoped").SetConfigurationFilters([]string{"onMessageAdded"}))
	require.NoError(t, err)
	f.locked(func() {
		_, err := f.store.AddMessage(*c.Sid, MessageParams{Author: "+15550001111", Body: "from phone", Source: "SMS"})
		require.Nil(t, err)
	})
	settle(t, f)
	added := rc.byType("onMessageAdded")
	require.Len(t, added, 1)
	assert.False(t, added[0].Has("Source"))
	assert.Equal(t, "from phone", added[0].Get("Body"))
}
