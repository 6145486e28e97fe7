package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/flexhooks/flexhooks"
)

// DefaultTransferClaimTTL outlives a transfer's task: TaskRouter's default
// task timeout (24 hours) and an hour more (TransferConfig.ClaimTTL).
const DefaultTransferClaimTTL = 25 * time.Hour

// TransferConfig is the part of the service configuration transfers use.
type TransferConfig struct {
	// WorkspaceSid is the Flex TaskRouter workspace.
	WorkspaceSid string
	// WorkflowSid is the "Chat Transfer" workflow every transfer invite
	// routes through (TWILIO_FLEX_CHAT_TRANSFER_WORKFLOW_SID).
	WorkflowSid string
	// ClaimTTL bounds how long a transfer claim lives. The claim is what
	// vouches for a transfer until its task is accepted or canceled (the
	// agent's removal on accept, the agent's cancel), so it must outlive
	// the task: TaskRouter keeps an unassigned task for its timeout, 24
	// hours unless the workflow says otherwise (the Task resource's
	// Timeout, twilio_taskrouter_v1.json), and a warm transfer to a queue
	// nobody takes waits that long. A crash between a claim and its invite
	// is the sweeper's to release (transfer_claim_orphaned, after its
	// grace), a claim whose task ended unseen too (transfer_claim_ended);
	// the TTL is the last resort. Default 25 hours.
	ClaimTTL time.Duration
	// CloseAttempts is how many times a cold transfer tries to remove the
	// transferring agent once the invite exists. Default 3.
	CloseAttempts int
	// CloseRetryWait is the wait before the first retry (doubling). Default 200 ms.
	CloseRetryWait time.Duration
	// UndoTimeout bounds compensation after a failure. Default 15 s.
	UndoTimeout time.Duration
}

// Transfers runs conversation transfers, cold and warm.
type Transfers struct {
	tw    TransferTwilio
	cfg   TransferConfig
	log   *slog.Logger
	now   func() time.Time
	newID func() string
	// claims finds transfer claims in their shards or a legacy map.
	claims legacyClaims
}

// NewTransfers returns the transfer operations over tw. log may be nil.
func NewTransfers(tw TransferTwilio, cfg TransferConfig, log *slog.Logger) *Transfers {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.ClaimTTL <= 0 {
		cfg.ClaimTTL = DefaultTransferClaimTTL
	}
	if cfg.CloseAttempts <= 0 {
		cfg.CloseAttempts = 3
	}
	if cfg.CloseRetryWait <= 0 {
		cfg.CloseRetryWait = 200 * time.Millisecond
	}
	if cfg.UndoTimeout <= 0 {
		cfg.UndoTimeout = 15 * time.Second
	}
	return &Transfers{tw: tw, cfg: cfg, log: log, now: time.Now, newID: randomID}
}

// hasSeat reports whether worker has an agent participant among parts.
func hasSeat(parts []InteractionParticipant, worker string) bool {
	return slices.ContainsFunc(parts, func(p InteractionParticipant) bool { return p.Type == "agent" && p.WorkerSid == worker })
}

func randomID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "TR" + hex.EncodeToString(b)
}

// TransferResponse is the answer to a transfer.
type TransferResponse struct {
	// Transferred: a cold transfer is done (invite made, transferring agent
	// removed).
	Transferred bool `json:"transferred"`
	// Pending: a warm transfer waits for the target to accept.
	Pending                  bool     `json:"pending"`
	Mode                     string   `json:"mode"`
	TransferID               string   `json:"transferId"`
	ConversationSid          string   `json:"conversationSid"`
	InviteSid                string   `json:"inviteSid"`
	TaskSid                  string   `json:"taskSid"`
	TargetType               string   `json:"transferTargetType"`
	TargetSid                string   `json:"transferTargetSid"`
	QueueName                string   `json:"transferQueueName,omitempty"`
	TransferringAgentRemoved bool     `json:"transferringAgentRemoved"`
	WorkerSidsInConversation []string `json:"workerSidsInConversation"`
}

// TransferConversation serves the flex-conversations-transfer plugin.
func (t *Transfers) TransferConversation(ctx context.Context, req TransferConversationRequest) (*TransferResponse, error) {
	return t.Transfer(ctx, req.AsTransfer())
}

// Transfer hands a conversation to a worker or a queue. Cold: three
// sequential round trips —
//
//  1. claim the transfer (a Sync item only one request creates) ‖ fetch the
//     conversation ‖ list the channel's participants ‖ look the target up in
//     TaskRouter ‖ fetch the task when its attributes were not sent;
//  2. the invite (a new task through the Chat Transfer workflow);
//  3. close the transferring agent's participant; the claim stays until the
//     target accepts (or the task is canceled), so that no second transfer
//     starts while this one is on its way.
//
// Every guard is decided on round trip 1's answers, so a refused request
// changes nothing (the claim it took is released). The invite comes before
// the close: a failed invite leaves the agent with the customer. Round trips
// 2 and 3 cannot overlap without risking a customer with no agent.
//
// Warm: round trips 1 and 2, with the pending record written into the
// conversation attributes alongside the invite; the agent stays, and the
// TaskRouter events for the invite's task finish the transfer.
func (t *Transfers) Transfer(ctx context.Context, req TransferRequest) (*TransferResponse, error) {
	caller, ok := flexhooks.CallerFrom(ctx)
	if !ok {
		return nil, flexhooks.Errorf(flexhooks.EUNAUTHORIZED, "a Flex token is required")
	}
	o, err := req.validate()
	if err != nil {
		return nil, err
	}
	if t.cfg.WorkflowSid == "" {
		return nil, flexhooks.Errorf(flexhooks.EUNAVAILABLE, "transfers are not configured: set TWILIO_FLEX_CHAT_TRANSFER_WORKFLOW_SID (flexhooks setup prints it)")
	}
	csid := o.ConversationSid
	logSids(ctx, "conversationSid", csid, "interactionSid", o.InteractionSid, "taskSid", o.TaskSid, "workerSid", caller.WorkerSid)

	// The transfer's ID is chosen first so that its claim names it: the
	// events that end the transfer release only their own claim.
	id := t.newID()

	// Round trip 1.
	var (
		conv                                      Conversation
		parts                                     []InteractionParticipant
		members                                   []ConversationParticipant
		queue                                     Queue
		task                                      Task
		clmErr, convErr, ptErr, targetErr, tskErr error
		memberErr                                 error
	)
	fns := []func(){
		func() {
			clmErr = t.tw.CreateSyncMapItem(ctx, transferClaimMapOf(csid), csid, transferClaim{ID: id, By: caller.WorkerSid,
				InteractionSid: o.InteractionSid, ChannelSid: o.ChannelSid, ParticipantSid: o.ParticipantSid}, t.cfg.ClaimTTL)
		},
		func() { conv, convErr = t.tw.FetchConversation(ctx, csid) },
		func() { parts, ptErr = t.tw.ListInteractionParticipants(ctx, o.InteractionSid, o.ChannelSid) },
		func() { members, memberErr = t.tw.ListConversationParticipants(ctx, csid) },
		func() {
			switch {
			case o.TargetType == TargetWorker:
				_, targetErr = t.tw.FetchWorker(ctx, t.cfg.WorkspaceSid, o.TargetSid)
			case o.TargetSid != "":
				queue, targetErr = t.tw.FetchQueue(ctx, t.cfg.WorkspaceSid, o.TargetSid)
			default:
				queue, targetErr = t.tw.FindQueue(ctx, t.cfg.WorkspaceSid, o.QueueName)
			}
		},
	}
	if o.TaskSid != "" {
		// Read even when its attributes were sent: the task ties the
		// request's SIDs together (ownership.go).
		fns = append(fns, func() { task, tskErr = t.tw.FetchTask(ctx, t.cfg.WorkspaceSid, o.TaskSid) })
	}
	parallel(fns...)
	claimed := clmErr == nil
	release := func() {
		if claimed {
			uctx, cancel := t.undoContext(ctx)
			defer cancel()
			t.bestEffort(uctx, "release claim", t.claims.delete(uctx, t.tw, TransferClaimMap, csid))
		}
	}
	seat := seatReads{parts: parts, partsErr: ptErr, members: members, memberErr: memberErr, task: task, taskErr: tskErr, taskRead: o.TaskSid != ""}
	if isConflict(clmErr) && convErr == nil {
		// A retry of a transfer whose invite's answer was lost, or a double
		// click: the claim names the transfer, and if its invite exists the
		// caller gets that transfer, finished, not a second one.
		if resp, found, err := t.resume(ctx, caller, o, conv); found || err != nil {
			return resp, err
		}
	}
	plan, err := t.decide(caller, &o, conv, convErr, seat, queue, targetErr)
	if err == nil && clmErr != nil {
		if isConflict(clmErr) {
			err = flexhooks.Errorf(flexhooks.ECONFLICT, "another transfer of conversation %s is in progress", csid)
		} else {
			err = clmErr
		}
	}
	if err != nil {
		release()
		return nil, err
	}

	rec := TransferRecord{
		ID: id, Mode: o.Mode, TargetType: o.TargetType, TargetSid: o.TargetSid, QueueName: o.QueueName,
		WorkerSid: plan.agent.WorkerSid, ParticipantSid: plan.agent.Sid,
		InteractionSid: o.InteractionSid, ChannelSid: o.ChannelSid,
		RemoveTransferringAgent: o.Remove, CloseWith: o.CloseWith, CreatedAt: t.now().UTC(),
	}
	routing := map[string]any{"properties": map[string]any{
		"workspace_sid":            t.cfg.WorkspaceSid,
		"workflow_sid":             t.cfg.WorkflowSid,
		"task_channel_unique_name": o.TaskChannel,
		"attributes":               inviteAttributes(plan.attrs, rec, plan.exclude),
	}}
	resp := &TransferResponse{
		Mode: o.Mode, TransferID: rec.ID, ConversationSid: csid, TargetType: o.TargetType, TargetSid: o.TargetSid,
		QueueName: o.QueueName, WorkerSidsInConversation: plan.inConversation,
	}

	// Round trip 2.
	warm := o.Mode == ModeWarm
	var (
		inv               TransferInvite
		invErr, recordErr error
		pendingAttributes string
	)
	var inviteUnknown bool
	fns = []func(){func() { inv, inviteUnknown, invErr = t.createInvite(ctx, o, rec, routing) }}
	if warm {
		// Checked by decide: the attributes are an object.
		pendingAttributes, _ = withTransfer(conv.Attributes, rec)
		fns = append(fns, func() { recordErr = t.tw.UpdateConversationAttributes(ctx, csid, pendingAttributes) })
	}
	parallel(fns...)
	if invErr != nil && inviteUnknown {
		// Twilio may have made the invite: its task would be routing with
		// nobody told. The claim (and a warm transfer's record) stay, so
		// that the caller's retry finds the transfer (resume) and the
		// sweeper finishes or releases it (transfer_sweep.go).
		t.log.ErrorContext(ctx, "transfer: the invite may exist; its claim is kept for the retry and the sweeper", "conversationSid", csid, "transferId", rec.ID, "err", invErr)
		return nil, &flexhooks.Error{Code: flexhooks.ErrorCode(invErr),
			Message: "the transfer's invite may have been made; send the same transfer again to finish it", Err: invErr}
	}
	if invErr != nil {
		uctx, cancel := t.undoContext(ctx)
		if warm && recordErr == nil {
			t.bestEffort(uctx, "remove pending record", t.removeRecord(uctx, csid, rec.ID))
		}
		cancel()
		release()
		return nil, invErr
	}
	resp.InviteSid, resp.TaskSid = inv.Sid, inv.TaskSid
	logSids(ctx, "transferTaskSid", inv.TaskSid)

	if warm {
		if recordErr != nil {
			// The invite exists and its task carries the transfer, so the
			// target's accept still removes the agent when asked; only the
			// guard against a second transfer is missing. Try once more.
			if recordErr = t.tw.UpdateConversationAttributes(ctx, csid, pendingAttributes); recordErr != nil {
				t.log.ErrorContext(ctx, "transfer: the pending record could not be written; the invite stands", "conversationSid", csid, "taskSid", inv.TaskSid, "err", recordErr)
			}
		}
		resp.Pending = true
		return resp, nil
	}

	// Round trip 3 (cold). The claim is kept: released now, alongside the
	// close, a second request whose round trip 1 listed the participants
	// before this close but claimed after the release would pass every
	// guard and invite again. The transfer's task ends it instead (its
	// accept or cancel, transfer_warm.go), or ClaimTTL; meanwhile another
	// transfer of the conversation is refused as in progress, which it is.
	return t.finishCold(ctx, rec, inv, resp)
}

// finishCold is a cold transfer's round trip 3, once its invite exists:
// the transferring agent leaves.
func (t *Transfers) finishCold(ctx context.Context, rec TransferRecord, inv TransferInvite, resp *TransferResponse) (*TransferResponse, error) {
	csid := resp.ConversationSid
	closeErr := t.removeAgent(ctx, rec)
	if closeErr != nil {
		// Never silently two agents: the invite stands (its task is
		// routing), so record the transfer as pending with the removal
		// still to do. The target's accept removes the agent, the record
		// refuses a second transfer meanwhile, and the caller is told.
		uctx, cancel := t.undoContext(ctx)
		defer cancel()
		if err := t.recordPending(uctx, csid, rec); err != nil {
			t.log.ErrorContext(ctx, "transfer: the agent could not be removed nor the transfer recorded", "conversationSid", csid, "taskSid", inv.TaskSid, "err", err)
		}
		t.log.ErrorContext(ctx, "transfer: invite created but the transferring agent could not be removed", "conversationSid", csid, "participantSid", rec.ParticipantSid, "err", closeErr)
		return nil, &flexhooks.Error{
			Code: flexhooks.ErrorCode(closeErr),
			Message: fmt.Sprintf("the conversation was transferred (task %s) but the transferring agent could not be removed; "+
				"they will be removed when the target accepts, or leave with remove-participant", inv.TaskSid),
			Err: closeErr,
		}
	}
	resp.Transferred, resp.TransferringAgentRemoved = true, true
	return resp, nil
}

// transferPlan is what round trip 1 decided.
type transferPlan struct {
	agent          InteractionParticipant // the transferring agent's participant
	attrs          map[string]any         // the original task's attributes
	inConversation []string               // workers in the conversation now
	exclude        []string               // workers a queue transfer must not reach
}

// decide applies every guard to round trip 1's answers, in the order a
// caller can fix them: the conversation, who may act, the target.
func (t *Transfers) decide(caller flexhooks.Caller, o *transferOrder, conv Conversation, convErr error,
	seat seatReads, queue Queue, targetErr error,
) (transferPlan, error) {
	var plan transferPlan
	csid := o.ConversationSid
	if convErr != nil {
		return plan, conversationError(csid, convErr)
	}
	if conv.State == "closed" {
		return plan, flexhooks.Errorf(flexhooks.ECONFLICT, "conversation %s is closed and cannot be transferred", csid)
	}
	// Whose seat this is, and that the SIDs belong together, before the
	// conversation's own state is told to the caller.
	if seat.partsErr == nil && o.ParticipantSid == "" && caller.IsSupervisor() && !hasSeat(seat.parts, caller.WorkerSid) {
		return plan, flexhooks.Invalid(map[string]string{"flexInteractionParticipantSid": "required: the caller has no agent participant in the conversation, so name the one to transfer"})
	}
	claim := seatClaim{ConversationSid: csid, InteractionSid: o.InteractionSid, ChannelSid: o.ChannelSid, ParticipantSid: o.ParticipantSid, TaskSid: o.TaskSid}
	agent, err := seatOf(caller, claim, seat)
	if err != nil {
		return plan, err
	}
	plan.agent = agent
	for _, p := range seat.parts {
		if p.Type == "agent" && p.WorkerSid != "" {
			plan.inConversation = append(plan.inConversation, p.WorkerSid)
		}
	}
	rec, err := pendingTransfer(conv.Attributes)
	if err != nil {
		return plan, &flexhooks.Error{Code: flexhooks.EUNPROCESSABLE, Message: "the conversation's attributes are not a JSON object; a transfer record cannot be merged into them", Err: err}
	}
	if rec != nil {
		return plan, flexhooks.Errorf(flexhooks.ECONFLICT, "a transfer of conversation %s to %s is pending; cancel it first", csid, rec.describe())
	}
	if o.TargetType == TargetWorker {
		if o.TargetSid == plan.agent.WorkerSid {
			return plan, flexhooks.Errorf(flexhooks.ECONFLICT, "worker %s cannot transfer a conversation to themselves", o.TargetSid)
		}
		if slices.Contains(plan.inConversation, o.TargetSid) {
			return plan, flexhooks.Errorf(flexhooks.ECONFLICT, "worker %s is already in conversation %s", o.TargetSid, csid)
		}
	}
	if targetErr != nil {
		if isNotFound(targetErr) {
			what := "worker " + o.TargetSid
			if o.TargetType == TargetQueue {
				what = "queue " + firstNonEmpty(o.TargetSid, o.QueueName)
			}
			return plan, &flexhooks.Error{Code: flexhooks.ENOTFOUND, Message: what + " not found in the workspace", Err: targetErr}
		}
		return plan, targetErr
	}
	if o.TargetType == TargetQueue {
		o.TargetSid, o.QueueName = queue.Sid, queue.FriendlyName
	}
	plan.attrs = o.TaskAttributes
	if plan.attrs == nil {
		plan.attrs = seat.task.Attributes // checked by seatOf
	}
	// A queue transfer must reach someone new: every agent in the
	// conversation (the transferring one included) and the workers the
	// plugin names are kept out.
	plan.exclude = append(slices.Clone(plan.inConversation), o.WorkersToIgnore...)
	return plan, nil
}

// createInvite creates the invite. When its answer is lost (a timeout, a
// 5xx after Twilio did the work) the channel's invites are searched for the
// transfer's ID before failing: a retry by the caller must not make a second
// task.
//
// unknown is true when the invite failed and may still exist: the search
// failed too.
func (t *Transfers) createInvite(ctx context.Context, o transferOrder, rec TransferRecord, routing map[string]any) (inv TransferInvite, unknown bool, err error) {
	inv, err = t.tw.CreateTransferInvite(ctx, o.InteractionSid, o.ChannelSid, routing)
	if err == nil || isCode(err, flexhooks.EINVALID) || isNotFound(err) {
		return inv, false, err
	}
	found, ok, lerr := t.findInvite(ctx, rec.InteractionSid, rec.ChannelSid, rec.ID)
	if lerr != nil {
		return inv, true, err
	}
	if ok {
		t.log.WarnContext(ctx, "transfer: the invite's answer was lost but the invite exists", "inviteSid", found.Sid, "err", err)
		return found, false, nil
	}
	return inv, false, err
}

// findInvite looks for the invite of transfer id among the channel's.
func (t *Transfers) findInvite(ctx context.Context, interactionSid, channelSid, id string) (TransferInvite, bool, error) {
	invs, err := t.tw.ListTransferInvites(ctx, interactionSid, channelSid)
	if err != nil {
		return TransferInvite{}, false, err
	}
	for _, i := range invs {
		if r := transferFromTask(i.TaskAttributes); r != nil && r.ID == id {
			return i, true, nil
		}
	}
	return TransferInvite{}, false, nil
}

// removeAgent closes the transferring agent's participant, retrying: once
// the invite exists, leaving the agent in place means two agents. A close
// whose answer was lost is told from one that did not happen by listing
// the participants.
func (t *Transfers) removeAgent(ctx context.Context, rec TransferRecord) error {
	wait := t.cfg.CloseRetryWait
	var err error
	for attempt := range t.cfg.CloseAttempts {
		if attempt > 0 {
			if pause(ctx, wait) != nil {
				return err
			}
			wait *= 2
		}
		err = t.tw.UpdateInteractionParticipantStatus(ctx, rec.InteractionSid, rec.ChannelSid, rec.ParticipantSid, rec.CloseWith)
		if err == nil || isNotFound(err) {
			return nil
		}
		parts, lerr := t.tw.ListInteractionParticipants(ctx, rec.InteractionSid, rec.ChannelSid)
		if lerr == nil && !slices.ContainsFunc(parts, func(p InteractionParticipant) bool { return p.Sid == rec.ParticipantSid }) {
			return nil
		}
	}
	return err
}

// recordPending writes rec as the conversation's pending transfer.
func (t *Transfers) recordPending(ctx context.Context, csid string, rec TransferRecord) error {
	conv, err := t.tw.FetchConversation(ctx, csid)
	if err != nil {
		return err
	}
	attrs, err := withTransfer(conv.Attributes, rec)
	if err != nil {
		return err
	}
	return t.tw.UpdateConversationAttributes(ctx, csid, attrs)
}

// removeRecord removes the pending transfer id from the conversation's
// current attributes (re-read, so that others' changes are kept).
func (t *Transfers) removeRecord(ctx context.Context, csid, id string) error {
	conv, err := t.tw.FetchConversation(ctx, csid)
	if err != nil {
		return err
	}
	attrs, changed, err := withoutTransfer(conv.Attributes, id)
	if err != nil || !changed {
		return err
	}
	return t.tw.UpdateConversationAttributes(ctx, csid, attrs)
}

func (t *Transfers) undoContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), t.cfg.UndoTimeout)
}

// bestEffort logs a failed cleanup step; a missing thing is no failure.
func (t *Transfers) bestEffort(ctx context.Context, step string, err error) {
	if err == nil || isNotFound(err) {
		return
	}
	t.log.ErrorContext(ctx, "transfer: cleanup step failed", "step", step, "err", err)
}
