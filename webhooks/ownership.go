package webhooks

import (
	"context"
	"slices"

	"github.com/flexhooks/flexhooks"
)

// Ownership: a plugin request names a conversation, its Flex interaction and
// channel, an agent participant and a task. None of that is taken on trust.
// Before an operation changes anything, seatOf checks against Twilio's own
// state that they belong together and that the seat is the caller's:
//
//   - the participant is listed on that interaction channel (Flex's list:
//     a channel of another interaction answers 404) as an agent, and Flex's
//     routing_properties name the worker and the task;
//   - that worker is the caller, unless the caller is a supervisor or admin;
//   - the caller's identity (from the validated token) is a participant of
//     the conversation (Conversations' list, which agents cannot write),
//     which ties the conversation to the caller;
//   - the task, when the request names it, is the participant's, is live
//     (assigned or wrapping) and its attributes, which Flex wrote at routing,
//     name the same conversation, interaction and channel.
//
// The task's attributes alone would not do: the agent holding a task can
// rewrite them from the Flex UI. The conversation's participant list is the
// part no agent can forge; the task check catches honest mix-ups (a plugin
// sending one conversation's SIDs with another's task).

// ConversationParticipant is a participant of a Conversations conversation.
type ConversationParticipant struct {
	Sid string
	// Identity is the chat identity: an agent's Flex identity, or a web
	// chat customer's; empty for SMS and WhatsApp customers.
	Identity string
}

// Workflow is a TaskRouter workflow.
type Workflow struct {
	Sid          string
	FriendlyName string
}

// OwnershipTwilio is what the ownership checks read.
type OwnershipTwilio interface {
	ListInteractionParticipants(ctx context.Context, interactionSid, channelSid string) ([]InteractionParticipant, error)
	ListConversationParticipants(ctx context.Context, conversationSid string) ([]ConversationParticipant, error)
	FetchTask(ctx context.Context, workspaceSid, taskSid string) (Task, error)
}

// seatClaim is what a request says about the agent's place in a
// conversation. ParticipantSid may be empty: the caller's own agent
// participant on the channel is then the seat.
type seatClaim struct {
	ConversationSid, InteractionSid, ChannelSid, ParticipantSid, TaskSid string
}

// seatReads are the answers seatOf judges; fetched by the operation beside
// the reads it makes anyway, so that the checks cost no round trip of their
// own where the operation already has one before its first change.
type seatReads struct {
	parts     []InteractionParticipant
	partsErr  error
	members   []ConversationParticipant
	memberErr error
	task      Task
	taskErr   error
	taskRead  bool
}

// readSeat returns the functions that fill r for c, to run in parallel with
// the operation's own first reads.
func readSeat(ctx context.Context, tw OwnershipTwilio, workspaceSid string, c seatClaim, r *seatReads) []func() {
	fns := []func(){
		func() { r.parts, r.partsErr = tw.ListInteractionParticipants(ctx, c.InteractionSid, c.ChannelSid) },
		func() { r.members, r.memberErr = tw.ListConversationParticipants(ctx, c.ConversationSid) },
	}
	if c.TaskSid != "" {
		r.taskRead = true
		fns = append(fns, func() { r.task, r.taskErr = tw.FetchTask(ctx, workspaceSid, c.TaskSid) })
	}
	return fns
}

// seatOf judges r: the agent participant the request may act on, or an
// error that changes nothing — 404 for a channel or task Twilio does not
// know, 403 when the SIDs do not belong together or the seat is another
// worker's, 409 when the seat is no longer live.
func seatOf(caller flexhooks.Caller, c seatClaim, r seatReads) (InteractionParticipant, error) {
	var seat InteractionParticipant
	if r.partsErr != nil {
		if isNotFound(r.partsErr) {
			return seat, &flexhooks.Error{Code: flexhooks.ENOTFOUND, Message: "interaction channel " + c.ChannelSid + " of interaction " + c.InteractionSid + " not found", Err: r.partsErr}
		}
		return seat, r.partsErr
	}
	if r.memberErr != nil {
		return seat, conversationError(c.ConversationSid, r.memberErr)
	}
	seat, err := pickSeat(caller, c, r.parts)
	if err != nil {
		return seat, err
	}
	if !caller.MayActFor(seat.WorkerSid) {
		return seat, flexhooks.Errorf(flexhooks.EFORBIDDEN, "participant %s is worker %s's; only they or a supervisor may act on it", seat.Sid, seat.WorkerSid)
	}
	// The task first: a seat whose task has ended is a participant who left
	// (Flex may still list it), which is a conflict, not an intrusion.
	if r.taskRead {
		if err := checkSeatTask(c, seat, r.task, r.taskErr); err != nil {
			return seat, err
		}
	}
	if caller.WorkerSid == seat.WorkerSid && caller.Identity != "" && !isMember(r.members, caller.Identity) {
		return seat, flexhooks.Errorf(flexhooks.EFORBIDDEN, "interaction channel %s is not conversation %s's: you are not a participant of that conversation", c.ChannelSid, c.ConversationSid)
	}
	return seat, nil
}

// pickSeat finds the named participant, or the caller's own agent seat.
func pickSeat(caller flexhooks.Caller, c seatClaim, parts []InteractionParticipant) (InteractionParticipant, error) {
	for _, p := range parts {
		named := c.ParticipantSid != "" && p.Sid == c.ParticipantSid
		own := c.ParticipantSid == "" && p.Type == "agent" && p.WorkerSid != "" && p.WorkerSid == caller.WorkerSid
		if !named && !own {
			continue
		}
		if p.Type != "agent" {
			return p, flexhooks.Errorf(flexhooks.EFORBIDDEN, "participant %s is the %s, not an agent", p.Sid, p.Type)
		}
		return p, nil
	}
	if c.ParticipantSid == "" {
		return InteractionParticipant{}, flexhooks.Errorf(flexhooks.EFORBIDDEN, "worker %s has no agent participant on interaction channel %s", caller.WorkerSid, c.ChannelSid)
	}
	return InteractionParticipant{}, flexhooks.Errorf(flexhooks.ECONFLICT, "participant %s is not (or no longer) on interaction channel %s", c.ParticipantSid, c.ChannelSid)
}

// checkSeatTask ties the request's task to the seat and the conversation.
func checkSeatTask(c seatClaim, seat InteractionParticipant, task Task, err error) error {
	if isNotFound(err) {
		return &flexhooks.Error{Code: flexhooks.ENOTFOUND, Message: "task " + c.TaskSid + " not found", Err: err}
	}
	if err != nil {
		return err
	}
	if seat.TaskSid != "" && seat.TaskSid != c.TaskSid {
		return flexhooks.Errorf(flexhooks.EFORBIDDEN, "task %s is not participant %s's task", c.TaskSid, seat.Sid)
	}
	for key, want := range map[string]string{
		"conversationSid":           c.ConversationSid,
		"flexInteractionSid":        c.InteractionSid,
		"flexInteractionChannelSid": c.ChannelSid,
	} {
		if got, _ := task.Attributes[key].(string); got != "" && got != want {
			return flexhooks.Errorf(flexhooks.EFORBIDDEN, "task %s belongs to another conversation (its %s is not %s)", c.TaskSid, key, want)
		}
	}
	if !slices.Contains([]string{"assigned", "wrapping"}, task.AssignmentStatus) {
		return flexhooks.Errorf(flexhooks.ECONFLICT, "task %s is %s, not live", c.TaskSid, task.AssignmentStatus)
	}
	return nil
}

func isMember(members []ConversationParticipant, identity string) bool {
	return slices.ContainsFunc(members, func(m ConversationParticipant) bool { return m.Identity == identity })
}
