package twilio

import (
	"context"
	"encoding/json"

	flex "github.com/twilio/twilio-go/rest/flex/v1"

	"github.com/flexhooks/flexhooks/webhooks"
)

// CloseInteractionParticipant sets a Flex interaction channel participant's
// status to closed: the agent leaves and their task completes.
func (o *Operations) CloseInteractionParticipant(ctx context.Context, interactionSid, channelSid, participantSid string) error {
	_, err := o.c.API(ctx).Flex.UpdateInteractionChannelParticipant(interactionSid, channelSid, participantSid,
		(&flex.UpdateInteractionChannelParticipantParams{}).SetStatus("closed"))
	return MapError(err)
}

// InteractionParticipantActive reports whether the participant is listed
// on the channel: Flex lists no closed participant.
func (o *Operations) InteractionParticipantActive(ctx context.Context, interactionSid, channelSid, participantSid string) (bool, error) {
	ps, err := o.c.API(ctx).Flex.ListInteractionChannelParticipant(interactionSid, channelSid,
		(&flex.ListInteractionChannelParticipantParams{}).SetPageSize(100).SetLimit(1000))
	if err != nil {
		return false, MapError(err)
	}
	for _, p := range ps {
		if ptrValue(p.Sid) == participantSid {
			return true, nil
		}
	}
	return false, nil
}

// CreateInteractionInvite invites the channel to be routed (a new task)
// with routing as the Routing parameter ({"properties": {...}}).
func (o *Operations) CreateInteractionInvite(ctx context.Context, interactionSid, channelSid string, routing map[string]any) (string, error) {
	inv, err := o.c.API(ctx).Flex.CreateInteractionChannelInvite(interactionSid, channelSid,
		(&flex.CreateInteractionChannelInviteParams{}).SetRouting(routing))
	if err != nil {
		return "", MapError(err)
	}
	return ptrValue(inv.Sid), nil
}

// ListInteractionInvites lists the channel's invites; Flex shows each with
// routing.properties.attributes, its task's attributes as JSON text.
func (o *Operations) ListInteractionInvites(ctx context.Context, interactionSid, channelSid string) ([]webhooks.Invite, error) {
	invs, err := o.c.API(ctx).Flex.ListInteractionChannelInvite(interactionSid, channelSid,
		(&flex.ListInteractionChannelInviteParams{}).SetPageSize(100).SetLimit(1000))
	if err != nil {
		return nil, MapError(err)
	}
	out := make([]webhooks.Invite, 0, len(invs))
	for _, inv := range invs {
		item := webhooks.Invite{Sid: ptrValue(inv.Sid)}
		if inv.Routing != nil {
			if r, ok := (*inv.Routing).(map[string]any); ok {
				if props, ok := r["properties"].(map[string]any); ok {
					switch a := props["attributes"].(type) {
					case string:
						_ = json.Unmarshal([]byte(a), &item.TaskAttributes)
					case map[string]any:
						item.TaskAttributes = a
					}
				}
			}
		}
		out = append(out, item)
	}
	return out, nil
}
