package webhooks

import (
	"context"

	"github.com/flexhooks/flexhooks"
)

// TransferEventTypes are the TaskRouter events transfers act on; the
// workspace's EventsFilter must include them (flexhooks setup adds them).
var TransferEventTypes = []string{"reservation.accepted", "reservation.rejected", "reservation.timeout", "task.canceled"}

// RegisterEvents registers the transfer's TaskRouter event handlers. They
// act only on tasks a transfer made (their attributes carry TransferTaskKey)
// and are idempotent, since TaskRouter retries and duplicates events.
func (t *Transfers) RegisterEvents(events *TaskEvents) {
	events.On("reservation.accepted", t.onAccepted)
	events.On("reservation.rejected", t.onDeclined)
	events.On("reservation.timeout", t.onDeclined)
	events.On("task.canceled", t.onCanceled)
}

// onAccepted finishes a transfer when its target accepts: the transferring
// agent leaves if the request asked for it, and the pending record goes. A
// cold transfer finished at once; its record exists only when removing the
// agent failed, and then this removal completes it.
func (t *Transfers) onAccepted(ctx context.Context, ev TaskRouterEvent) error {
	rec := transferFromTask(ev.Attributes())
	if rec == nil {
		return nil
	}
	csid := attrString(ev.Attributes(), "conversationSid")
	logSids(ctx, "conversationSid", csid, "transferId", rec.ID)
	if rec.Mode == ModeCold {
		conv, err := t.tw.FetchConversation(ctx, csid)
		if err != nil {
			return ignoreNotFound(err)
		}
		if p, _ := pendingTransfer(conv.Attributes); p == nil || p.ID != rec.ID {
			// Done at transfer time but for the claim, which a cold
			// transfer holds until its target accepts (see Transfer),
			// unless the invite's answer was lost and the transfer failed
			// before the agent left: then the agent leaves now, as no
			// sweep can tell this transfer's task from others' once its
			// claim is gone.
			if err := t.removeLeftAgent(ctx, csid, *rec); err != nil {
				return err
			}
			return t.releaseClaim(ctx, csid, rec.ID)
		}
	}
	if rec.RemoveTransferringAgent && t.confirmed(ctx, csid, *rec) {
		if err := t.tw.UpdateInteractionParticipantStatus(ctx, rec.InteractionSid, rec.ChannelSid, rec.ParticipantSid, rec.CloseWith); err != nil && !isNotFound(err) {
			// TaskRouter delivers no event callback again: the transfer
			// sweep finds the agent still in (transfer_agent_not_removed).
			return err
		}
	}
	return t.finish(ctx, csid, rec.ID)
}

// removeLeftAgent closes the transferring agent's participant of a cold
// transfer whose target accepted, when it is still on the channel: one
// Flex list per cold transfer's accept.
func (t *Transfers) removeLeftAgent(ctx context.Context, csid string, rec TransferRecord) error {
	if !rec.RemoveTransferringAgent {
		return nil
	}
	parts, err := t.tw.ListInteractionParticipants(ctx, rec.InteractionSid, rec.ChannelSid)
	if err != nil {
		return err // the transfer sweep finds the agent still in
	}
	for _, p := range parts {
		if p.Sid == rec.ParticipantSid && t.confirmed(ctx, csid, rec) {
			if err := t.tw.UpdateInteractionParticipantStatus(ctx, rec.InteractionSid, rec.ChannelSid, rec.ParticipantSid, rec.CloseWith); err != nil && !isNotFound(err) {
				return err
			}
		}
	}
	return nil
}

// onDeclined handles a reservation rejected or timed out. A warm transfer
// to a worker has no one else to go to, so its task is canceled and the
// transfer ends (the transferring agent still has the customer). A queue
// transfer's task goes on to the queue's next worker and stays pending. A
// cold transfer's task is never canceled: the transferring agent has left,
// and the task is the customer's only way to an agent.
func (t *Transfers) onDeclined(ctx context.Context, ev TaskRouterEvent) error {
	rec := transferFromTask(ev.Attributes())
	if rec == nil || rec.TargetType != TargetWorker || rec.Mode != ModeWarm {
		return nil
	}
	logSids(ctx, "transferId", rec.ID)
	if err := t.cancelTask(ctx, ev.TaskSid, "transfer to "+rec.TargetSid+" declined"); err != nil {
		return err
	}
	return t.finish(ctx, attrString(ev.Attributes(), "conversationSid"), rec.ID)
}

// onCanceled ends a transfer whose task was canceled (by the cancel
// endpoint, a decline, a task timeout or anyone else).
func (t *Transfers) onCanceled(ctx context.Context, ev TaskRouterEvent) error {
	rec := transferFromTask(ev.Attributes())
	if rec == nil {
		return nil
	}
	return t.finish(ctx, attrString(ev.Attributes(), "conversationSid"), rec.ID)
}

// transferClaim is the data of a transfer's claim: what the transfer
// endpoint checked before it took it. The record a transfer's task carries
// can be rewritten by whoever holds the task; the claim only by flexhooks.
type transferClaim struct {
	ID             string `json:"id"`
	By             string `json:"by"`
	InteractionSid string `json:"interactionSid,omitempty"`
	ChannelSid     string `json:"channelSid,omitempty"`
	ParticipantSid string `json:"participantSid,omitempty"`
}

// confirmed reports whether the conversation's transfer claim vouches for
// rec: same transfer, same channel, and the participant the request named
// (or, when it named none, its caller's own). Unconfirmed, the agent is
// not removed (two agents is the safe side) and the reason is logged.
func (t *Transfers) confirmed(ctx context.Context, csid string, rec TransferRecord) bool {
	item, err := t.claims.fetch(ctx, t.tw, TransferClaimMap, csid)
	var c transferClaim
	if err == nil {
		err = decodeJSON(item.Data, &c)
	}
	ok := err == nil && c.ID == rec.ID && c.InteractionSid == rec.InteractionSid && c.ChannelSid == rec.ChannelSid &&
		(c.ParticipantSid == rec.ParticipantSid || (c.ParticipantSid == "" && c.By == rec.WorkerSid))
	if !ok {
		t.log.WarnContext(ctx, "transfer: the task's transfer record is not confirmed by its claim; the transferring agent is left in place",
			"conversationSid", csid, "transferId", rec.ID, "participantSid", rec.ParticipantSid, "err", err)
	}
	return ok
}

// finish removes a transfer's pending record and releases its claim. Both
// are idempotent; the claim is released only when it is this transfer's
// (its data names the transfer), so that a late event never frees a newer
// transfer's claim.
func (t *Transfers) finish(ctx context.Context, csid, id string) error {
	if csid == "" {
		return nil
	}
	conv, err := t.tw.FetchConversation(ctx, csid)
	if err != nil {
		return ignoreNotFound(err)
	}
	rec, _ := pendingTransfer(conv.Attributes)
	if rec != nil && rec.ID != id {
		return nil
	}
	if rec != nil {
		attrs, changed, err := withoutTransfer(conv.Attributes, id)
		if err != nil {
			return err
		}
		if changed {
			if err := t.tw.UpdateConversationAttributes(ctx, csid, attrs); err != nil {
				return ignoreNotFound(err)
			}
		}
	}
	return t.releaseClaim(ctx, csid, id)
}

// releaseClaim deletes the conversation's transfer claim if it is transfer
// id's: a late event never frees a newer transfer's claim.
func (t *Transfers) releaseClaim(ctx context.Context, csid, id string) error {
	item, err := t.claims.fetch(ctx, t.tw, TransferClaimMap, csid)
	if err != nil {
		return ignoreNotFound(err)
	}
	var claim struct {
		ID string `json:"id"`
	}
	if decodeJSON(item.Data, &claim) != nil || claim.ID != id {
		return nil
	}
	return ignoreNotFound(t.claims.delete(ctx, t.tw, TransferClaimMap, csid))
}

// cancelTask cancels a transfer's task. A task that has already ended, or
// was accepted meanwhile, is left as it is.
func (t *Transfers) cancelTask(ctx context.Context, taskSid, reason string) error {
	err := t.tw.CancelTask(ctx, t.cfg.WorkspaceSid, taskSid, reason)
	if err == nil || isNotFound(err) {
		return nil
	}
	task, ferr := t.tw.FetchTask(ctx, t.cfg.WorkspaceSid, taskSid)
	if ferr == nil && task.AssignmentStatus != "pending" && task.AssignmentStatus != "reserved" {
		return nil
	}
	return err
}

// CancelTransferResponse is the answer to POST /transfer/cancel.
type CancelTransferResponse struct {
	Canceled        bool   `json:"canceled"`
	ConversationSid string `json:"conversationSid"`
	TransferID      string `json:"transferId"`
	TaskSid         string `json:"taskSid,omitempty"`
}

// Cancel withdraws a pending warm transfer: its task is canceled (the
// target's Flex UI drops the offer) and the record and claim go. A transfer
// already accepted is 409. A record whose task cannot be found (a transfer
// that failed halfway) is simply removed, which unblocks the conversation.
func (t *Transfers) Cancel(ctx context.Context, req CancelTransferRequest) (*CancelTransferResponse, error) {
	caller, ok := flexhooks.CallerFrom(ctx)
	if !ok {
		return nil, flexhooks.Errorf(flexhooks.EUNAUTHORIZED, "a Flex token is required")
	}
	if err := req.validate(); err != nil {
		return nil, err
	}
	csid := req.ConversationSid
	logSids(ctx, "conversationSid", csid)
	conv, err := t.tw.FetchConversation(ctx, csid)
	if err != nil {
		return nil, conversationError(csid, err)
	}
	rec, _ := pendingTransfer(conv.Attributes)
	if rec == nil {
		return nil, flexhooks.Errorf(flexhooks.ECONFLICT, "conversation %s has no pending transfer", csid)
	}
	// The record is in attributes others can write: who may cancel is
	// decided on it only when the transfer's claim vouches for it.
	if !caller.IsSupervisor() && (!caller.MayActFor(rec.WorkerSid) || !t.confirmed(ctx, csid, *rec)) {
		return nil, flexhooks.Errorf(flexhooks.EFORBIDDEN, "only the transferring agent or a supervisor may cancel this transfer")
	}
	invs, err := t.tw.ListTransferInvites(ctx, rec.InteractionSid, rec.ChannelSid)
	if err != nil {
		return nil, err
	}
	resp := &CancelTransferResponse{Canceled: true, ConversationSid: csid, TransferID: rec.ID}
	for _, inv := range invs {
		if r := transferFromTask(inv.TaskAttributes); r == nil || r.ID != rec.ID {
			continue
		}
		resp.TaskSid = inv.TaskSid
		task, err := t.tw.FetchTask(ctx, t.cfg.WorkspaceSid, inv.TaskSid)
		if err != nil && !isNotFound(err) {
			return nil, err
		}
		if err == nil {
			switch task.AssignmentStatus {
			case "pending", "reserved":
				if err := t.cancelTask(ctx, inv.TaskSid, "transfer canceled by "+caller.WorkerSid); err != nil {
					return nil, err
				}
			case "canceled":
			default:
				return nil, flexhooks.Errorf(flexhooks.ECONFLICT, "the transfer of conversation %s was already accepted", csid)
			}
		}
	}
	if err := t.finish(ctx, csid, rec.ID); err != nil {
		return nil, err
	}
	return resp, nil
}

// RemoveParticipantResponse is the answer to remove-participant.
type RemoveParticipantResponse struct {
	Removed        bool   `json:"removed"`
	ParticipantSid string `json:"participantSid"`
}

// RemoveParticipant takes an agent out of a conversation (their task
// completes, or wraps up): how flex-project-template ends a warm transfer.
// Two sequential round trips: the participants (to know whose it is), then
// the close.
func (t *Transfers) RemoveParticipant(ctx context.Context, req RemoveParticipantRequest) (*RemoveParticipantResponse, error) {
	caller, ok := flexhooks.CallerFrom(ctx)
	if !ok {
		return nil, flexhooks.Errorf(flexhooks.EUNAUTHORIZED, "a Flex token is required")
	}
	if err := req.validate(); err != nil {
		return nil, err
	}
	logSids(ctx, "conversationSid", req.ConversationSid, "interactionSid", req.FlexInteractionSid)
	parts, err := t.tw.ListInteractionParticipants(ctx, req.FlexInteractionSid, req.FlexInteractionChannelSid)
	if err != nil {
		return nil, err
	}
	var target *InteractionParticipant
	for i := range parts {
		if parts[i].Sid == req.FlexInteractionParticipantSid {
			target = &parts[i]
		}
	}
	if target == nil {
		// Already gone: removing is idempotent.
		return &RemoveParticipantResponse{Removed: true, ParticipantSid: req.FlexInteractionParticipantSid}, nil
	}
	if target.Type != "agent" && target.Type != "supervisor" {
		return nil, flexhooks.Errorf(flexhooks.ECONFLICT, "participant %s is the %s, not an agent", target.Sid, target.Type)
	}
	if !caller.MayActFor(target.WorkerSid) {
		return nil, flexhooks.Errorf(flexhooks.EFORBIDDEN, "participant %s is worker %s's; only they or a supervisor may remove it", target.Sid, target.WorkerSid)
	}
	if err := t.tw.UpdateInteractionParticipantStatus(ctx, req.FlexInteractionSid, req.FlexInteractionChannelSid, target.Sid, req.CloseWith); err != nil && !isNotFound(err) {
		return nil, err
	}
	return &RemoveParticipantResponse{Removed: true, ParticipantSid: target.Sid}, nil
}

func ignoreNotFound(err error) error {
	if isNotFound(err) {
		return nil
	}
	return err
}
