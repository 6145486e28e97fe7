package setup

import (
	"context"
	"fmt"
	"strings"

	conversations "github.com/twilio/twilio-go/rest/conversations/v1"

	"github.com/flexhooks/flexhooks/internal/twilio"
)

// ConversationStateUpdatedPath is where the Conversations service sends its
// post-event webhooks for the inactivity timeout.
const ConversationStateUpdatedPath = "/webhooks/conversation-state-updated"

// ConversationEventFilters are the Conversations events the inactivity
// timeout uses.
var ConversationEventFilters = []string{"onConversationStateUpdated", "onMessageAdded"}

// conversationsWebhookStep sets the Flex Conversations service's post-event
// webhook to the service, adding the filters it needs to those configured.
type conversationsWebhookStep struct{ cfg Config }

func (conversationsWebhookStep) Name() string { return "conversations webhook" }

func (s conversationsWebhookStep) Plan(ctx context.Context, api *twilio.API) (Plan, error) {
	if s.cfg.ChatServiceSID == "" {
		return Plan{Note: "TWILIO_FLEX_CHAT_SERVICE_SID is not set: skipped"}, nil
	}
	have, err := api.Conversations.FetchServiceWebhookConfiguration(s.cfg.ChatServiceSID)
	if err != nil {
		return Plan{}, twilio.MapError(err)
	}
	url := strings.TrimRight(s.cfg.PublicBaseURL, "/") + ConversationStateUpdatedPath
	haveURL := deref(have.PostWebhookUrl)
	var changes []string
	p := &conversations.UpdateServiceWebhookConfigurationParams{}
	if haveURL != url {
		p.SetPostWebhookUrl(url)
		if haveURL == "" {
			changes = append(changes, "set PostWebhookUrl to "+url)
		} else {
			changes = append(changes, fmt.Sprintf("replace PostWebhookUrl %s with %s", haveURL, url))
		}
	}
	if !strings.EqualFold(deref(have.Method), "POST") {
		p.SetMethod("POST")
		changes = append(changes, "set Method to POST")
	}
	merged, added := mergeList(deref(have.Filters), ConversationEventFilters)
	if len(added) > 0 {
		p.SetFilters(merged)
		changes = append(changes, "add "+strings.Join(added, ", ")+" to Filters")
	}
	if len(changes) == 0 {
		return Plan{}, nil
	}
	return Plan{
		Changes: changes,
		Apply: func(ctx context.Context, api *twilio.API) (string, error) {
			_, err := api.Conversations.UpdateServiceWebhookConfiguration(s.cfg.ChatServiceSID, p)
			return "", twilio.MapError(err)
		},
	}, nil
}
