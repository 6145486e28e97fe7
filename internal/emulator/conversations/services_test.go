package conversations

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	conv "github.com/twilio/twilio-go/rest/conversations/v1"
)

// GET /v1/Services and /v1/Services/{Sid} exist on Twilio and in twilio-go
// (ListService, PageService, FetchService); responses are checked against
// twilio_conversations_v1.json by emutest's transport.
func TestServicesListAndFetch(t *testing.T) {
	f := newFixture(t)
	def := f.store.DefaultServiceSID()

	got, err := f.c.ConversationsV1.ListService(nil)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, def, *got[0].Sid)
	assert.Equal(t, DefaultServiceName, *got[0].FriendlyName)
	assert.Equal(t, "https://conversations.twilio.com/v1/Services/"+def, *got[0].Url)
	assert.Equal(t, start.Format("2006-01-02T15:04:05Z"), got[0].DateCreated.UTC().Format("2006-01-02T15:04:05Z"))

	page, err := f.c.ConversationsV1.PageService((&conv.ListServiceParams{}).SetPageSize(1), "", "")
	require.NoError(t, err)
	assert.Len(t, page.Services, 1)
	assert.Equal(t, "services", page.Meta.Key)
	assert.Equal(t, 1, page.Meta.PageSize)
	assert.Empty(t, page.Meta.NextPageUrl, "one service: no next page")

	one, err := f.c.ConversationsV1.FetchService(def)
	require.NoError(t, err)
	assert.Equal(t, def, *one.Sid)
	links := *one.Links
	assert.Equal(t, "https://conversations.twilio.com/v1/Services/"+def+"/Conversations", links["conversations"])

	t.Run("unknown service", func(t *testing.T) {
		_, err := f.c.ConversationsV1.FetchService("IS" + "0123456789abcdef0123456789abcdef")
		restErr(t, err, 404, 20404)
	})
}
