package twilio

import (
	"context"
	"encoding/json"

	flex "github.com/twilio/twilio-go/rest/flex/v1"

	"github.com/flexhooks/flexhooks/webhooks"
)

// ListInteractionParticipants lists the channel's participants (Flex lists
// no closed ones), with the worker and task an agent's routing_properties
// name.
func (o *Operations) ListInteractionParticipants(ctx context.Context, interactionSid, channelSid string) ([]webhooks.InteractionParticipant, error) {
	ps, err := o.c.API(ctx).Flex.ListInteractionChannelParticipant(interactionSid, channelSid,
		(&flex.ListInteractionChannelParticipantParams{}).SetPageSize(100).SetLimit(1000))
	if err != nil {
		return nil, MapError(err)
	}
	out := make([]webhooks.InteractionParticipant, 0, len(ps))
	for _, p := range ps {
		ip := webhooks.InteractionParticipant{Sid: ptrValue(p.Sid), Type: ptrValue(p.Type)}
		if p.RoutingProperties != nil {
			if rp, ok := (*p.RoutingProperties).(map[string]any); ok {
				ip.WorkerSid, _ = rp["worker_sid"].(string)
				ip.TaskSid, _ = rp["task_sid"].(string)
			}
		}
		out = append(out, ip)
	}
	return out, nil
}

// UpdateInteractionParticipantStatus sets a participant to closed or wrapup.
func (o *Operations) UpdateInteractionParticipantStatus(ctx context.Context, interactionSid, channelSid, participantSid, status string) error {
	_, err := o.c.API(ctx).Flex.UpdateInteractionChannelParticipant(interactionSid, channelSid, participantSid,
		(&flex.UpdateInteractionChannelParticipantParams{}).SetStatus(status))
	return MapError(err)
}

// CreateTransferInvite creates an invite and returns it with its task: Flex
// shows the task under routing.properties.
func (o *Operations) CreateTransferInvite(ctx context.Context, interactionSid, channelSid string, routing map[string]any) (webhooks.TransferInvite, error) {
	inv, err := o.c.API(ctx).Flex.CreateInteractionChannelInvite(interactionSid, channelSid,
		(&flex.CreateInteractionChannelInviteParams{}).SetRouting(routing))
	if err != nil {
		return webhooks.TransferInvite{}, MapError(err)
	}
	return transferInvite(ptrValue(inv.Sid), inv.Routing), nil
}

// ListTransferInvites lists the channel's invites with their tasks.
func (o *Operations) ListTransferInvites(ctx context.Context, interactionSid, channelSid string) ([]webhooks.TransferInvite, error) {
	invs, err := o.c.API(ctx).Flex.ListInteractionChannelInvite(interactionSid, channelSid,
		(&flex.ListInteractionChannelInviteParams{}).SetPageSize(100).SetLimit(1000))
	if err != nil {
		return nil, MapError(err)
	}
	out := make([]webhooks.TransferInvite, 0, len(invs))
	for _, inv := range invs {
		out = append(out, transferInvite(ptrValue(inv.Sid), inv.Routing))
	}
	return out, nil
}

func transferInvite(sid string, routing *interface{}) webhooks.TransferInvite {
	out := webhooks.TransferInvite{Sid: sid}
	if routing == nil {
		return out
	}
	r, _ := (*routing).(map[string]any)
	props, _ := r["properties"].(map[string]any)
	out.TaskSid, _ = props["sid"].(string)
	out.TaskStatus, _ = props["assignment_status"].(string)
	switch a := props["attributes"].(type) {
	case string:
		_ = json.Unmarshal([]byte(a), &out.TaskAttributes)
	case map[string]any:
		out.TaskAttributes = a
	}
	return out
}
