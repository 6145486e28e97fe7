package conversations

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	v1 "github.com/twilio/twilio-go/rest/conversations/v1"
)

// The Messages list serves at most 100 a page, as its spec says: a client
// asking for more pages through them as it would on Twilio.
func TestMessagesPageSizeIsCappedAt100(t *testing.T) {
	f := newFixture(t)
	cv := f.c.ConversationsV1
	c, err := cv.CreateConversation(nil)
	require.NoError(t, err)
	for range 150 {
		_, err := cv.CreateConversationMessage(*c.Sid, (&v1.CreateConversationMessageParams{}).SetBody("m"))
		require.NoError(t, err)
	}
	page, err := cv.PageConversationMessage(*c.Sid, (&v1.ListConversationMessageParams{}).SetPageSize(1000), "", "")
	require.NoError(t, err)
	assert.Len(t, page.Messages, 100)
	assert.Equal(t, 100, page.Meta.PageSize)
	require.NotNil(t, page.Meta.NextPageUrl)
	all, err := cv.ListConversationMessage(*c.Sid, (&v1.ListConversationMessageParams{}).SetPageSize(1000))
	require.NoError(t, err)
	assert.Len(t, all, 150)
}
