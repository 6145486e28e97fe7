package webhooks

import (
	"context"

	"github.com/flexhooks/flexhooks"
)

// resume finishes, for its caller, a transfer an earlier request left
// behind: its invite was made but the answer lost (and the search for it
// failed), so the caller was told to send the transfer again. Twilio
// delivers nothing again, so the retry is what finishes it, and it must
// find that transfer rather than make a second task.
//
// The conversation's claim says which transfer it was; it is only
// flexhooks' to write, so it is what vouches for the caller (the
// transferring agent, or someone who may act for them) and the channel.
// found is false when the claim is not such a transfer, its invite does
// not exist, or the request is for another transfer: the request then goes on to its guards, which answer 409 while
// the claim is held.
func (t *Transfers) resume(ctx context.Context, caller flexhooks.Caller, o transferOrder, conv Conversation) (resp *TransferResponse, found bool, err error) {
	csid := o.ConversationSid
	if p, _ := pendingTransfer(conv.Attributes); p != nil {
		// The transfer was answered as pending: nothing to resume, and the
		// guard tells the caller about it.
		return nil, false, nil
	}
	item, err := t.claims.fetch(ctx, t.tw, TransferClaimMap, csid)
	if err != nil {
		return nil, false, ignoreNotFound(err)
	}
	var c transferClaim
	if decodeJSON(item.Data, &c) != nil || c.ID == "" || c.InteractionSid != o.InteractionSid || c.ChannelSid != o.ChannelSid ||
		!caller.MayActFor(c.By) || (o.ParticipantSid != "" && c.ParticipantSid != "" && o.ParticipantSid != c.ParticipantSid) {
		return nil, false, nil
	}
	inv, ok, err := t.findInvite(ctx, c.InteractionSid, c.ChannelSid, c.ID)
	if err != nil || !ok {
		return nil, false, err
	}
	rec := transferFromTask(inv.TaskAttributes)
	if rec.Mode != o.Mode || (rec.TargetSid != o.TargetSid && (o.QueueName == "" || rec.QueueName != o.QueueName)) {
		return nil, false, nil // another transfer than this one: the guard's 409
	}
	logSids(ctx, "transferId", rec.ID, "transferTaskSid", inv.TaskSid)
	resp = &TransferResponse{
		Mode: rec.Mode, TransferID: rec.ID, ConversationSid: csid, InviteSid: inv.Sid, TaskSid: inv.TaskSid,
		TargetType: rec.TargetType, TargetSid: rec.TargetSid, QueueName: rec.QueueName,
		WorkerSidsInConversation: stringList(inv.TaskAttributes["workerSidsInConversation"]),
	}
	if rec.Mode != ModeCold {
		if p, _ := pendingTransfer(conv.Attributes); p == nil || p.ID != rec.ID {
			if err := t.recordPending(ctx, csid, *rec); err != nil {
				t.log.ErrorContext(ctx, "transfer: the pending record could not be written; the invite stands", "conversationSid", csid, "taskSid", inv.TaskSid, "err", err)
			}
		}
		resp.Pending = true
		return resp, true, nil
	}
	resp, err = t.finishCold(ctx, *rec, inv, resp)
	return resp, true, err
}

// stringList reads a JSON list of strings decoded into any.
func stringList(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
