package flex

import (
	"time"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

// snapshotView is the flex part of GET /emulator/state: every interaction
// with its channel, the channel's participants (closed ones included, with
// their status, which the REST list hides) and invites with their task SIDs.
type snapshotView struct {
	Interactions []interactionState `json:"interactions"`
}

type interactionState struct {
	Sid                   string         `json:"sid"`
	InitiatedBy           string         `json:"initiatedBy"`
	ChannelProperties     map[string]any `json:"channelProperties,omitempty"`
	InteractionContextSid string         `json:"interactionContextSid,omitempty"`
	WebhookTtid           string         `json:"webhookTtid,omitempty"`
	DateCreated           string         `json:"dateCreated"`
	Channel               *channelState  `json:"channel"`
}

type channelState struct {
	Sid             string             `json:"sid"`
	Type            string             `json:"type"`
	Status          string             `json:"status"`
	ConversationSid string             `json:"conversationSid"`
	Direction       string             `json:"direction"`
	CustomerAddress string             `json:"customerAddress,omitempty"`
	DateUpdated     string             `json:"dateUpdated"`
	Participants    []participantState `json:"participants"`
	Invites         []inviteState      `json:"invites"`
}

type participantState struct {
	Sid             string         `json:"sid"`
	Type            string         `json:"type"`
	Status          string         `json:"status"`
	Identity        string         `json:"identity,omitempty"`
	TaskSid         string         `json:"taskSid,omitempty"`
	WorkerSid       string         `json:"workerSid,omitempty"`
	ReservationSid  string         `json:"reservationSid,omitempty"`
	MediaProperties map[string]any `json:"mediaProperties,omitempty"`
	DateCreated     string         `json:"dateCreated"`
}

type inviteState struct {
	Sid          string         `json:"sid"`
	TaskSid      string         `json:"taskSid"`
	WorkspaceSid string         `json:"workspaceSid"`
	Routing      map[string]any `json:"routing,omitempty"`
	DateCreated  string         `json:"dateCreated"`
}

// Snapshot is the product's part of GET /emulator/state.
func (s *Store) Snapshot() any {
	v := snapshotView{Interactions: make([]interactionState, 0, len(s.order))}
	for _, in := range s.order {
		is := interactionState{
			Sid:                   in.Sid,
			InitiatedBy:           in.InitiatedBy,
			ChannelProperties:     in.ChannelProperties,
			InteractionContextSid: in.InteractionContextSid,
			WebhookTtid:           in.WebhookTtid,
			DateCreated:           iso(in.DateCreated),
		}
		if ch := s.channels[in.ChannelSid]; ch != nil {
			cs := &channelState{
				Sid:             ch.Sid,
				Type:            ch.Type,
				Status:          ch.Status,
				ConversationSid: ch.ConversationSid,
				Direction:       ch.Direction,
				CustomerAddress: ch.Customer.Address,
				DateUpdated:     iso(ch.DateUpdated),
				Participants:    make([]participantState, 0, len(ch.participants)),
				Invites:         make([]inviteState, 0, len(ch.invites)),
			}
			for _, pt := range ch.participants {
				cs.Participants = append(cs.Participants, participantState{
					Sid: pt.Sid, Type: pt.Type, Status: pt.Status, Identity: pt.Identity,
					TaskSid: pt.TaskSid, WorkerSid: pt.WorkerSid, ReservationSid: pt.ReservationSid,
					MediaProperties: pt.MediaProperties, DateCreated: iso(pt.DateCreated),
				})
			}
			for _, inv := range ch.invites {
				cs.Invites = append(cs.Invites, inviteState{
					Sid: inv.Sid, TaskSid: inv.TaskSid, WorkspaceSid: inv.WorkspaceSid,
					Routing: inv.Routing, DateCreated: iso(inv.DateCreated),
				})
			}
			is.Channel = cs
		}
		v.Interactions = append(v.Interactions, is)
	}
	return v
}

func iso(t time.Time) string { return core.ISO(t) }
