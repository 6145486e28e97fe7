package webhooks

import (
	"context"
	"maps"
)

// An unpark's task can end without an agent: the agent it was offered to
// declines an invite that named them (Flex then cancels the task and
// leaves the conversation without an agent: docs/twilio-behaviour.md),
// or it waits out its TaskRouter timeout. The customer would then be
// stranded, neither served nor parked. The park is put back instead: the
// agent sees it in their parked list again and the customer's next
// message routes it through the workflow.

// ParkEventTypes are the TaskRouter events parks act on.
var ParkEventTypes = []string{"task.canceled"}

// RegisterEvents puts a park back when its unpark's task is canceled.
func (p *Parks) RegisterEvents(events *TaskEvents, tw ParkSweepTwilio) {
	events.On(ParkEventTypes[0], func(ctx context.Context, ev TaskRouterEvent) error {
		t := TaskSummary{Sid: ev.TaskSid, AssignmentStatus: "canceled", Attributes: ev.Attributes(),
			WorkflowSid: ev.WorkflowSid, TaskChannelUniqueName: ev.TaskChannelUniqueName}
		_, err := p.repark(ctx, tw, t)
		return err
	})
}

// parkOfUnparkTask rebuilds the park an unpark's task came from: the
// task's own routing, its attributes without what the unpark added, and
// the parking agent from originalRouting. ok is false for any other task.
func parkOfUnparkTask(t TaskSummary) (ParkRecord, bool) {
	a := t.Attributes
	if id, _ := a[unparkIDAttribute].(string); id == "" {
		return ParkRecord{}, false
	}
	orig, _ := a["originalRouting"].(map[string]any)
	rec := ParkRecord{
		ConversationSid:       stringAttr(a, "conversationSid"),
		InteractionSid:        stringAttr(a, "flexInteractionSid"),
		ChannelSid:            stringAttr(a, "flexInteractionChannelSid"),
		ChannelType:           stringAttr(a, "channelType"),
		WorkflowSid:           t.WorkflowSid,
		TaskChannelUniqueName: t.TaskChannelUniqueName,
		QueueName:             stringAttr(orig, "queueName"),
		QueueSid:              stringAttr(orig, "queueSid"),
		WorkerSid:             stringAttr(orig, "workerSid"),
		TaskAttributes:        maps.Clone(a),
		Listed:                true, // the agent must see it came back
	}
	delete(rec.TaskAttributes, unparkIDAttribute)
	delete(rec.TaskAttributes, "originalRouting")
	if rec.ConversationSid == "" || rec.InteractionSid == "" || rec.ChannelSid == "" || rec.WorkflowSid == "" {
		return ParkRecord{}, false
	}
	return rec, true
}

// repark puts back the park of a canceled unpark task, unless the
// conversation is closed or someone serves it. The claim create is the
// lock: of the event handler, replicas and the sweeper, one reparks.
// done reports that this call put it back.
func (p *Parks) repark(ctx context.Context, tw ParkSweepTwilio, t TaskSummary) (done bool, err error) {
	rec, ok := parkOfUnparkTask(t)
	if !ok || t.AssignmentStatus != "canceled" {
		return false, nil
	}
	csid := rec.ConversationSid
	conv, err := p.tw.FetchConversation(ctx, csid)
	if isNotFound(err) || (err == nil && conv.State == "closed") {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if serving, err := p.served(ctx, tw, csid); err != nil || serving {
		return false, err
	}
	rec.ParkedAt = p.now().UTC()
	if err := p.tw.CreateSyncMapItem(ctx, parkClaimMapOf(csid), csid, rec, 0); err != nil {
		if isConflict(err) {
			return false, nil // parked again already
		}
		return false, err
	}
	hook := p.unparkWebhook(rec)
	if rec.WebhookSid, err = p.tw.CreateConversationWebhook(ctx, csid, hook); err != nil {
		// The claim stands: the sweeper gives it its webhook.
		return true, err
	}
	attrs, err := withPark(conv.Attributes, rec)
	if err == nil {
		parallel(
			func() {
				p.bestEffort(ctx, "repark", "claim", p.tw.PutSyncMapItem(ctx, parkClaimMapOf(csid), csid, rec, 0))
			},
			func() { p.bestEffort(ctx, "repark", "park key", p.tw.UpdateConversationAttributes(ctx, csid, attrs)) },
			func() {
				p.bestEffort(ctx, "repark", "list item", p.tw.PutSyncMapItem(ctx, ParkedListMap(rec.WorkerSid), csid, parkedListItem(rec), parkedListTTL(rec.ChannelType, p.cfg.ParkedTTL)))
			},
		)
	}
	p.log.WarnContext(ctx, "unpark: its task was canceled before an agent took it; the conversation is parked again",
		"conversationSid", csid, "taskSid", t.Sid, "workerSid", rec.WorkerSid)
	return true, nil
}

// liveTaskStatuses are the statuses of a task that still holds its
// conversation.
var liveTaskStatuses = []string{"pending", "reserved", "assigned", "wrapping"}

// served reports whether the conversation has a live task: an agent
// serves it, or a task (another unpark's, a transfer's) waits for one.
func (p *Parks) served(ctx context.Context, tw ParkSweepTwilio, csid string) (bool, error) {
	live, err := tw.ListTasks(ctx, p.cfg.WorkspaceSid, TaskListOptions{
		Statuses: liveTaskStatuses, Evaluate: `conversationSid == "` + csid + `"`, Limit: 1,
	})
	return len(live) > 0, err
}
