package webhooks

import (
	"context"
	"strconv"
)

// recoverRecord rebuilds a conversation's inactivity record from its live
// task when the accept's write of it failed (three times: TaskRouter sends
// the accept once), so that the timeout still has the interaction channel
// to close. It lists the conversation's assigned or wrapping tasks by
// expression (rate-limited per workspace, docs/scaling.md: this runs only
// for an inactive conversation with no record), and writes the record
// back, best effort. Nil when no such task is found.
func (in *Inactivity) recoverRecord(ctx context.Context, csid string) (*InactivityRecord, error) {
	if !validSID("WS", in.cfg.WorkspaceSid) || !validSID("CH", csid) {
		return nil, nil
	}
	tasks, err := in.tw.ListTasks(ctx, in.cfg.WorkspaceSid, TaskListOptions{
		Statuses: []string{"assigned", "wrapping"},
		Evaluate: "conversationSid == " + strconv.Quote(csid),
		Limit:    5,
	})
	if err != nil {
		return nil, err
	}
	for _, t := range tasks {
		if t.Attributes == nil {
			// Twilio's list may leave attributes out (its spec: shown
			// only when one task is fetched).
			if t, err = in.tw.FetchTaskSummary(ctx, in.cfg.WorkspaceSid, t.Sid); isNotFound(err) {
				continue
			} else if err != nil {
				return nil, err
			}
		}
		rec := inactivityRecordOf(t.Attributes, t.Sid)
		if rec.ConversationSid != csid || !validSID("KD", rec.InteractionSid) || !validSID("UO", rec.ChannelSid) {
			continue
		}
		if err := in.tw.CreateSyncMapItem(ctx, ShardedMap(InactivityRecordMap, csid), csid, rec, inactivityRecordTTL); err != nil && !isConflict(err) {
			in.log.WarnContext(ctx, "inactivity: the recovered record could not be written back", "conversationSid", csid, "err", err)
		}
		return &rec, nil
	}
	return nil, nil
}

// inactivityRecordOf is the record a conversation task's attributes give.
func inactivityRecordOf(attrs map[string]any, taskSid string) InactivityRecord {
	return InactivityRecord{
		ConversationSid: stringAttr(attrs, "conversationSid"),
		InteractionSid:  stringAttr(attrs, "flexInteractionSid"),
		ChannelSid:      stringAttr(attrs, "flexInteractionChannelSid"),
		ChannelType:     stringAttr(attrs, "channelType"),
		CustomerAddress: customerIdentity(attrs),
		TaskSid:         taskSid,
	}
}
