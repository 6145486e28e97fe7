package twilio

import (
	"context"
	"time"

	conversations "github.com/twilio/twilio-go/rest/conversations/v1"
	flex "github.com/twilio/twilio-go/rest/flex/v1"

	"github.com/flexhooks/flexhooks/internal/isoduration"
	"github.com/flexhooks/flexhooks/webhooks"
)

// The operations below are the ones only the inactivity timeout uses.

var _ webhooks.InactivityTwilio = (*Operations)(nil)

// UpdateConversation applies u in one call. Without the
// X-Twilio-Webhook-Enabled header the change fires no webhooks.
func (o *Operations) UpdateConversation(ctx context.Context, sid string, u webhooks.ConversationUpdate) error {
	p := &conversations.UpdateConversationParams{}
	if u.State != "" {
		p.SetState(u.State)
	}
	if u.InactiveTimer > 0 {
		p.SetTimersInactive(isoduration.Format(u.InactiveTimer.Round(time.Second)))
	}
	if u.Attributes != nil {
		p.SetAttributes(*u.Attributes)
	}
	_, err := o.c.API(ctx).Conversations.UpdateConversation(sid, p)
	return MapError(err)
}

// SendMessage posts a message with no author (Twilio shows "system") and
// no webhooks: the service's own notice must not look like someone writing.
func (o *Operations) SendMessage(ctx context.Context, conversationSid string, m webhooks.OutboundMessage) error {
	p := &conversations.CreateConversationMessageParams{}
	if m.Body != "" {
		p.SetBody(m.Body)
	}
	if m.ContentSid != "" {
		p.SetContentSid(m.ContentSid)
	}
	if m.Attributes != "" {
		p.SetAttributes(m.Attributes)
	}
	_, err := o.c.API(ctx).Conversations.CreateConversationMessage(conversationSid, p)
	return MapError(err)
}

// RecentMessages reads one page of the newest messages.
func (o *Operations) RecentMessages(ctx context.Context, conversationSid string, n int) ([]webhooks.Message, error) {
	ms, err := o.c.API(ctx).Conversations.ListConversationMessage(conversationSid,
		(&conversations.ListConversationMessageParams{}).SetOrder("desc").SetPageSize(n).SetLimit(n))
	if err != nil {
		return nil, MapError(err)
	}
	out := make([]webhooks.Message, 0, len(ms))
	for _, m := range ms {
		out = append(out, webhooks.Message{
			Sid: ptrValue(m.Sid), Author: ptrValue(m.Author), Attributes: ptrValue(m.Attributes), DateCreated: ptrValue(m.DateCreated),
		})
	}
	return out, nil
}

// CloseInteractionChannel closes the channel with routing closed, which
// completes its live tasks (rather than leaving them wrapping) and closes
// its conversation.
func (o *Operations) CloseInteractionChannel(ctx context.Context, interactionSid, channelSid string) error {
	_, err := o.c.API(ctx).Flex.UpdateInteractionChannel(interactionSid, channelSid,
		(&flex.UpdateInteractionChannelParams{}).SetStatus("closed").SetRouting(map[string]any{"status": "closed"}))
	return MapError(err)
}
