package emulator_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	twclient "github.com/twilio/twilio-go/client"
	conversations "github.com/twilio/twilio-go/rest/conversations/v1"
	flexv1 "github.com/twilio/twilio-go/rest/flex/v1"
	syncv1 "github.com/twilio/twilio-go/rest/sync/v1"
	taskrouter "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhooks/flexhooks/internal/emulator/emutest"
)

// Each list serves at most its spec's maximum a page: past 1000 any list
// answers 400 / 20007, a Sync list past 100 answers 400 / 54454 (both
// documented), and a Conversations list past its smaller maximum serves
// that maximum with a next page (twilio-go asks for 50 by default, so a
// refusal would break the official client's default call).
func TestPageSizeLimits(t *testing.T) {
	emu, srv := start(t)
	c := emutest.Client(t, srv.URL)
	ws := emu.SeededSIDs().WorkspaceSID
	conv, err := c.ConversationsV1.CreateConversation(nil)
	require.NoError(t, err)
	for i := range 6 {
		_, err := c.ConversationsV1.CreateConversationScopedWebhook(*conv.Sid, (&conversations.CreateConversationScopedWebhookParams{}).
			SetTarget("webhook").SetConfigurationUrl("https://example.com/h").SetConfigurationFilters([]string{"onMessageAdded"}))
		if i >= 5 {
			// More than five scoped webhooks is refused; the list is full.
			require.Error(t, err)
			break
		}
		require.NoError(t, err)
	}

	page, err := c.ConversationsV1.PageConversationScopedWebhook(*conv.Sid, (&conversations.ListConversationScopedWebhookParams{}).SetPageSize(50), "", "")
	require.NoError(t, err)
	assert.Equal(t, 5, page.Meta.PageSize, "cut to the list's maximum")
	assert.Len(t, page.Webhooks, 5)

	for _, tc := range []struct {
		name      string
		call      func(size int) error
		max, code int
	}{
		{"conversation scoped webhooks", func(n int) error {
			_, err := c.ConversationsV1.PageConversationScopedWebhook(*conv.Sid, (&conversations.ListConversationScopedWebhookParams{}).SetPageSize(n), "", "")
			return err
		}, 5, 0},
		{"conversation messages", func(n int) error {
			_, err := c.ConversationsV1.PageConversationMessage(*conv.Sid, (&conversations.ListConversationMessageParams{}).SetPageSize(n), "", "")
			return err
		}, 100, 0},
		{"sync maps", func(n int) error {
			_, err := c.SyncV1.PageSyncMap("default", (&syncv1.ListSyncMapParams{}).SetPageSize(n), "", "")
			return err
		}, 100, 54454},
		{"taskrouter tasks", func(n int) error {
			_, err := c.TaskrouterV1.PageTask(ws, (&taskrouter.ListTaskParams{}).SetPageSize(n), "", "")
			return err
		}, 1000, 20007},
		{"flex interaction channels", func(n int) error {
			_, err := c.FlexV1.PageInteractionChannel("KD00000000000000000000000000000000", (&flexv1.ListInteractionChannelParams{}).SetPageSize(n), "", "")
			if te, ok := err.(*twclient.TwilioRestError); ok && te.Status == http.StatusNotFound {
				return nil // got past the page-size check
			}
			return err
		}, 1000, 20007},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, tc.call(tc.max), "the maximum itself is fine")
			err := tc.call(tc.max + 1)
			if tc.code == 0 {
				require.NoError(t, err, "served as the maximum")
				err = tc.call(1001)
				tc.code = 20007
			}
			var te *twclient.TwilioRestError
			require.ErrorAs(t, err, &te)
			assert.Equal(t, http.StatusBadRequest, te.Status)
			assert.Equal(t, tc.code, te.Code)
		})
	}
}
