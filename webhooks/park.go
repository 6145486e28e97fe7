package webhooks

import (
	"cmp"
	"context"
	"errors"
	"strings"
	"time"

	"github.com/flexhooks/flexhooks"
)

// ParkRequest is POST /park-interaction, with flex-project-template's field
// names so that its plugin works unchanged (form or JSON).
type ParkRequest struct {
	ConversationSid       string    `json:"conversationSid" form:"conversationSid"`
	InteractionSid        string    `json:"interactionSid" form:"interactionSid"`
	ChannelSid            string    `json:"channelSid" form:"channelSid"`
	ParticipantSid        string    `json:"participantSid" form:"participantSid"`
	ChannelType           string    `json:"channelType" form:"channelType"`
	TaskSid               string    `json:"taskSid" form:"taskSid"`
	WorkflowSid           string    `json:"workflowSid" form:"workflowSid"`
	TaskChannelUniqueName string    `json:"taskChannelUniqueName" form:"taskChannelUniqueName"`
	QueueName             string    `json:"queueName" form:"queueName"`
	QueueSid              string    `json:"queueSid" form:"queueSid"`
	TaskAttributes        jsonField `json:"taskAttributes" form:"taskAttributes"`
	// WorkerSid is the parking agent; it defaults to the token's worker.
	WorkerSid string `json:"workerSid" form:"workerSid"`
	// CreateUpdateSyncMapItem asks for the parked-list item.
	CreateUpdateSyncMapItem boolField `json:"createUpdateSyncMapItem" form:"createUpdateSyncMapItem"`
	// UnparkAt snoozes the park: at that time (an RFC 3339 time, or an
	// ISO-8601 duration from now such as PT2H), if the customer has not
	// written, the conversation is routed back. Optional.
	UnparkAt string `json:"unparkAt" form:"unparkAt"`
}

// ParkResponse is the answer to a park: the park as it stands in Twilio.
type ParkResponse struct {
	Parked bool `json:"parked"`
	// AlreadyParked: the conversation was parked before this request (or by
	// a concurrent one); nothing was changed.
	AlreadyParked   bool       `json:"alreadyParked"`
	ConversationSid string     `json:"conversationSid"`
	WebhookSid      string     `json:"webhookSid,omitempty"`
	ParkedAt        time.Time  `json:"parkedAt"`
	Park            ParkRecord `json:"park"`
}

// validate checks every field, fills the defaults, and returns the record
// the park will store. It makes no Twilio call: a 400 changes nothing.
func (r *ParkRequest) validate(now time.Time, maxAge time.Duration) (ParkRecord, error) {
	f := fieldErrors{}
	f.sid("conversationSid", r.ConversationSid, "CH")
	f.sid("interactionSid", r.InteractionSid, "KD")
	f.sid("channelSid", r.ChannelSid, "UO")
	f.sid("participantSid", r.ParticipantSid, "UT")
	f.sid("workflowSid", r.WorkflowSid, "WW")
	f.optionalSID("taskSid", r.TaskSid, "WT")
	f.optionalSID("queueSid", r.QueueSid, "WQ")
	f.required("taskChannelUniqueName", r.TaskChannelUniqueName)
	// The parking agent is whoever Flex says holds the participant; a
	// workerSid in the request is only checked against that.
	f.optionalSID("workerSid", r.WorkerSid, "WK")
	f.check("createUpdateSyncMapItem", r.CreateUpdateSyncMapItem.err)
	var attrs map[string]any
	if r.TaskAttributes.err != nil {
		f["taskAttributes"] = r.TaskAttributes.err.Error()
	} else if r.TaskAttributes.IsZero() {
		f["taskAttributes"] = "required (the task's attributes as a JSON object)"
	} else if err := decodeJSON(r.TaskAttributes.JSON, &attrs); err != nil || attrs == nil {
		f["taskAttributes"] = "must be a JSON object"
	} else if customerIdentity(attrs) == "" {
		// Without it the customer's messages cannot be told from others,
		// and the park could never be resumed by the customer.
		f["taskAttributes"] = "must name the customer (customerAddress or from), as Flex sets them"
	}
	channelType := strings.ToLower(strings.TrimSpace(r.ChannelType))
	if channelType == "" {
		channelType, _ = attrs["channelType"].(string)
	}
	if channelType == "" {
		f["channelType"] = "required (sms, whatsapp, chat, messenger…)"
	}
	unparkAt, err := parseUnparkAt(r.UnparkAt, now, maxAge)
	if err != nil {
		f["unparkAt"] = err.Error()
	}
	if err := f.err(); err != nil {
		return ParkRecord{}, err
	}
	return ParkRecord{
		UnparkAt:              unparkAt,
		ConversationSid:       r.ConversationSid,
		InteractionSid:        r.InteractionSid,
		ChannelSid:            r.ChannelSid,
		ParticipantSid:        r.ParticipantSid,
		ChannelType:           channelType,
		TaskSid:               r.TaskSid,
		WorkflowSid:           r.WorkflowSid,
		TaskChannelUniqueName: r.TaskChannelUniqueName,
		QueueName:             r.QueueName,
		QueueSid:              r.QueueSid,
		WorkerSid:             r.WorkerSid,
		TaskAttributes:        attrs,
	}, nil
}

// Park parks a conversation: the agent leaves (their task completes), the
// customer stays, and the customer's next message brings the conversation
// back. Three sequential round trips:
//
//  1. every check, no change: fetch the conversation ‖ the channel's
//     participants ‖ the conversation's participants ‖ the task ‖ the
//     workflow (and queue) the unpark will route through ‖ list the
//     conversation's webhooks (preflight);
//  2. create the unpark webhook ‖ claim the park (a Sync item create only
//     one concurrent park wins);
//  3. merge the record into the attributes ‖ close the agent's participant ‖
//     write the parked-list item ‖ delete leftover unpark webhooks.
//
// Round trip 1 is the price of ownership: a request naming another agent's
// participant, SIDs that do not belong together, or a workflow the unpark
// could never route through is refused before anything in Twilio changes.
// The webhook exists before the agent leaves, so the customer can never be
// left without a way back; if closing the participant fails, everything
// created is removed again.
func (p *Parks) Park(ctx context.Context, req ParkRequest) (*ParkResponse, error) {
	caller, ok := flexhooks.CallerFrom(ctx)
	if !ok {
		return nil, flexhooks.Errorf(flexhooks.EUNAUTHORIZED, "a Flex token is required")
	}
	rec, err := req.validate(p.now().UTC(), p.cfg.MaxAge)
	if err != nil {
		return nil, err
	}
	logSids(ctx, "conversationSid", rec.ConversationSid, "taskSid", rec.TaskSid, "interactionSid", rec.InteractionSid, "workerSid", cmp.Or(rec.WorkerSid, caller.WorkerSid))
	if rec.WorkerSid != "" && !caller.MayActFor(rec.WorkerSid) {
		return nil, flexhooks.Errorf(flexhooks.EFORBIDDEN, "only the parking agent %s or a supervisor may park this conversation", rec.WorkerSid)
	}
	rec.ParkedAt = p.now().UTC()
	rec.Listed = p.cfg.ParkedList || bool(req.CreateUpdateSyncMapItem.Bool)
	csid := rec.ConversationSid

	// Round trip 1: the checks.
	conv, leftovers, err := p.preflight(ctx, caller, &rec)
	if err != nil {
		if again := p.replayedPark(ctx, caller, conv, rec, err); again != nil {
			return again, nil
		}
		return nil, err
	}

	// Round trip 2.
	var (
		hookSid         string
		hookErr, clmErr error
	)
	parallel(
		func() {
			hookSid, hookErr = p.tw.CreateConversationWebhook(ctx, csid, p.unparkWebhook(rec))
		},
		func() { clmErr = p.tw.CreateSyncMapItem(ctx, parkClaimMapOf(csid), csid, rec, 0) },
	)
	claimed := clmErr == nil
	undo := func(reason string) {
		uctx, cancel := p.undoContext(ctx)
		defer cancel()
		var fns []func()
		switch {
		case hookErr == nil:
			fns = append(fns, func() {
				p.bestEffort(uctx, reason, "delete webhook", p.tw.DeleteConversationWebhook(uctx, csid, hookSid))
			})
		case claimed && notRefused(hookErr):
			// The create's answer was lost, so the webhook may exist with a
			// SID we never learnt. Holding the claim, no other park has
			// made one: every webhook with this park's URL is ours.
			fns = append(fns, func() {
				p.bestEffort(uctx, reason, "delete unknown webhook", p.deleteHooksLike(uctx, csid, p.unparkWebhook(rec).URL))
			})
		}
		if claimed {
			fns = append(fns, func() {
				p.bestEffort(uctx, reason, "delete claim", p.claims.delete(uctx, p.tw, ParkClaimMap, csid))
			})
		}
		parallel(fns...)
	}

	existing, attrErr := parkFromAttributes(conv.Attributes)
	var stale *ParkRecord
	if existing != nil && existing.ParticipantSid != rec.ParticipantSid {
		// The record names another agent participant than the one parking
		// now: the conversation was resumed (a new task, a new participant)
		// and the record outlived it, its removal having failed. It is no
		// park; this park replaces it.
		stale, existing = existing, nil
	}
	switch {
	case errors.Is(attrErr, errNotObject):
		undo("attributes not an object")
		return nil, &flexhooks.Error{Code: flexhooks.EUNPROCESSABLE, Message: "the conversation's attributes are not a JSON object; the park record cannot be merged into them", Err: attrErr}
	case conv.State == "closed":
		undo("conversation closed")
		return nil, flexhooks.Errorf(flexhooks.ECONFLICT, "conversation %s is closed and cannot be parked", csid)
	case existing != nil:
		undo("already parked")
		return alreadyParked(*existing), nil
	}
	if clmErr != nil && isConflict(clmErr) {
		// Another park holds the claim. Return its park, unless the claim
		// is the leftover of a park that never finished: then take it over.
		resp, retake, err := p.existingClaim(ctx, csid, stale)
		if !retake {
			undo("claim held by another park")
			return resp, err
		}
		clmErr = p.tw.CreateSyncMapItem(ctx, parkClaimMapOf(csid), csid, rec, 0)
		claimed = clmErr == nil
		if isConflict(clmErr) {
			undo("claim taken concurrently")
			resp, _, err := p.existingClaim(ctx, csid, nil)
			return resp, err
		}
	}
	if clmErr == nil && isTooManyWebhooks(hookErr) {
		// Twilio allows five scoped webhooks per conversation, and the
		// losers of a concurrent park hold some for a moment: they remove
		// them at once, so the winner tries again shortly.
		hookSid, hookErr = p.createWebhookPatiently(ctx, csid, rec)
		if isTooManyWebhooks(hookErr) {
			undo("too many webhooks")
			return nil, &flexhooks.Error{Code: flexhooks.EUNPROCESSABLE, TwilioCode: twilioTooManyWebhooks,
				Message: "conversation " + csid + " already has the five scoped webhooks Twilio allows; the unpark webhook cannot be added (Twilio error 50361)", Err: hookErr}
		}
	}
	if clmErr != nil || hookErr != nil {
		undo("round trip 1 failed")
		if clmErr != nil {
			return nil, clmErr
		}
		return nil, hookErr
	}

	// Round trip 3.
	rec.WebhookSid = hookSid
	attrs, err := withPark(conv.Attributes, rec)
	if err != nil {
		undo("attributes merge failed")
		return nil, err
	}
	var attrsErr, closeErr, listErr error
	fns := []func(){
		func() { attrsErr = p.tw.UpdateConversationAttributes(ctx, csid, attrs) },
		func() {
			closeErr = p.tw.CloseInteractionParticipant(ctx, rec.InteractionSid, rec.ChannelSid, rec.ParticipantSid)
		},
	}
	if rec.Listed {
		fns = append(fns, func() {
			listErr = p.tw.PutSyncMapItem(ctx, ParkedListMap(rec.WorkerSid), csid, parkedListItem(rec), parkedListTTL(rec.ChannelType, p.cfg.ParkedTTL))
		})
	}
	for _, h := range leftovers {
		// An unpark webhook of no park (a failed park or restore that
		// could not remove it). This park holds the claim, so it is no
		// other park's; left, one customer message would fire it and this
		// park's both, and route twice.
		fns = append(fns, func() {
			p.bestEffort(ctx, "leftover", "delete leftover unpark webhook", p.deleteHook(ctx, csid, h.Sid))
		})
	}
	parallel(fns...)

	if closeErr != nil {
		// A close whose answer was lost may have happened: undoing the park
		// then would strand the customer (no agent, no way back). Ask.
		active, verr := p.participantActive(ctx, rec)
		switch {
		case verr != nil:
			// Unknown: keep the park, which strands nobody (at worst the
			// agent keeps a task the customer's next message duplicates).
			p.log.ErrorContext(ctx, "park: closing the participant failed and its state is unknown; the park is kept",
				"conversationSid", csid, "err", closeErr, "verifyErr", verr)
			return nil, closeErr
		case !active:
			closeErr = nil // it did close
		}
	}
	if closeErr != nil {
		// The agent is still in the conversation: un-park completely, so
		// that the state is exactly what it was before the request.
		uctx, cancel := p.undoContext(ctx)
		var ufns []func()
		if attrsErr == nil {
			ufns = append(ufns, func() {
				p.bestEffort(uctx, "close failed", "restore attributes", p.clearParkKey(uctx, csid))
			})
		}
		if rec.Listed && listErr == nil {
			ufns = append(ufns, func() {
				p.bestEffort(uctx, "close failed", "delete list item", p.tw.DeleteSyncMapItem(uctx, ParkedListMap(rec.WorkerSid), csid))
			})
		}
		parallel(ufns...)
		cancel()
		undo("close participant failed")
		return nil, closeErr
	}
	if attrsErr != nil {
		// The agent has left, the webhook and the claim (which holds the
		// record too) are in place: a customer message still resumes the
		// conversation. Try once more so the attributes say it is parked.
		attrsErr = p.tw.UpdateConversationAttributes(ctx, csid, attrs)
		if attrsErr != nil {
			p.log.ErrorContext(ctx, "park: the record could not be written to the conversation attributes; unpark will use the Sync claim",
				"conversationSid", csid, "err", attrsErr)
		}
	}
	if listErr != nil {
		p.log.WarnContext(ctx, "park: the parked-list item could not be written", "conversationSid", csid, "workerSid", rec.WorkerSid, "err", listErr)
	}
	return &ParkResponse{Parked: true, ConversationSid: csid, WebhookSid: hookSid, ParkedAt: rec.ParkedAt, Park: rec}, nil
}

// deleteHooksLike deletes the conversation's webhooks with the given URL.
func (p *Parks) deleteHooksLike(ctx context.Context, csid, url string) error {
	var hooks []Webhook
	err := retryFailed(ctx, func() (err error) {
		hooks, err = p.tw.ListConversationWebhooks(ctx, csid)
		return err
	})
	if err != nil {
		return err
	}
	for _, h := range hooks {
		if h.URL != url {
			continue
		}
		if err := p.deleteHook(ctx, csid, h.Sid); err != nil {
			return err
		}
	}
	return nil
}

// deleteHook deletes an unpark webhook no park may keep, trying three
// times: left, one customer message would fire it beside the park's own.
func (p *Parks) deleteHook(ctx context.Context, csid, sid string) error {
	return ignoreNotFound(retryFailed(ctx, func() error { return p.tw.DeleteConversationWebhook(ctx, csid, sid) }))
}

// notRefused reports whether a failed call was not refused by Twilio (a
// 4xx, after which nothing changed) but failed there or never got its
// answer (a 5xx, unavailable, a timeout): Twilio may have done it, and
// it may pass if tried again.
func notRefused(err error) bool {
	var e *flexhooks.Error
	if !errors.As(err, &e) {
		return true
	}
	return e.Code == flexhooks.EUPSTREAM || e.Code == flexhooks.EUNAVAILABLE || e.Code == flexhooks.EINTERNAL
}

// twilioTooManyWebhooks is Conversations' "more than five scoped webhooks".
const twilioTooManyWebhooks = 50361

func isTooManyWebhooks(err error) bool {
	var e *flexhooks.Error
	return errors.As(err, &e) && e.TwilioCode == twilioTooManyWebhooks
}

// createWebhookPatiently retries the unpark webhook's create while the
// conversation is at Twilio's webhook limit, for under a second.
func (p *Parks) createWebhookPatiently(ctx context.Context, csid string, rec ParkRecord) (string, error) {
	var (
		sid string
		err error
	)
	for _, wait := range []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond} {
		if err := pause(ctx, wait); err != nil {
			return "", err
		}
		sid, err = p.tw.CreateConversationWebhook(ctx, csid, p.unparkWebhook(rec))
		if !isTooManyWebhooks(err) {
			return sid, err
		}
	}
	return sid, err
}

func alreadyParked(rec ParkRecord) *ParkResponse {
	return &ParkResponse{Parked: true, AlreadyParked: true, ConversationSid: rec.ConversationSid, WebhookSid: rec.WebhookSid, ParkedAt: rec.ParkedAt, Park: rec}
}

// existingClaim reads the claim another park holds. retake reports a stale
// claim (deleted here) that the caller may claim again: the leftover of the
// stale record in the attributes, if any, or a claim older than any park
// takes (its park crashed between its round trips).
func (p *Parks) existingClaim(ctx context.Context, csid string, staleRec *ParkRecord) (resp *ParkResponse, retake bool, err error) {
	item, err := p.claims.fetch(ctx, p.tw, ParkClaimMap, csid)
	if isNotFound(err) {
		// The other park failed and undid itself between our create and
		// this fetch: nothing is parked, and a retry will park.
		return nil, false, flexhooks.Errorf(flexhooks.ECONFLICT, "a concurrent park of conversation %s failed; try again", csid)
	}
	if err != nil {
		return nil, false, err
	}
	var rec ParkRecord
	if err := decodeJSON(item.Data, &rec); err != nil || rec.InteractionSid == "" {
		rec = ParkRecord{}
	}
	leftover := staleRec != nil && rec.ParticipantSid == staleRec.ParticipantSid
	old := !item.DateCreated.IsZero() && p.now().Sub(item.DateCreated) > p.cfg.StaleClaimAfter
	if leftover || old {
		// The conversation attributes hold no live record (checked by the
		// caller), so this claim belongs to no park: drop it.
		if err := p.claims.delete(ctx, p.tw, ParkClaimMap, csid); err != nil && !isNotFound(err) {
			return nil, false, err
		}
		p.log.WarnContext(ctx, "park: took over a stale park claim", "conversationSid", csid, "claimedAt", item.DateCreated)
		return nil, true, nil
	}
	if rec.ConversationSid == "" {
		rec.ConversationSid = csid
	}
	return alreadyParked(rec), false, nil
}

// clearParkKey removes the park key from the conversation's current
// attributes (re-read, so that a concurrent change by someone else is kept).
func (p *Parks) clearParkKey(ctx context.Context, csid string) error {
	conv, err := p.tw.FetchConversation(ctx, csid)
	if err != nil {
		return err
	}
	attrs, err := withoutPark(conv.Attributes)
	if err != nil {
		return err
	}
	return p.tw.UpdateConversationAttributes(ctx, csid, attrs)
}

// bestEffort logs a failed compensation step. The step's absence is
// harmless by design (an extra webhook unparks nothing that is not parked;
// a claim without a park record is taken over when stale), so it does not
// replace the error the caller gets.
func (p *Parks) bestEffort(ctx context.Context, reason, step string, err error) {
	if err == nil || isNotFound(err) {
		return
	}
	p.log.ErrorContext(ctx, "compensation step failed", "reason", reason, "step", step, "err", err)
}

// preflight is round trip 1: it reads what the park needs to decide and
// refuses, before any change, a request whose SIDs do not belong together
// or to the caller, or whose unpark could never route. It fills in the
// parking agent and task from Flex's participant. leftovers are the unpark
// webhooks already on the conversation: a park that is not refused holds
// no park (or it would be "already parked"), so they belong to none.
func (p *Parks) preflight(ctx context.Context, caller flexhooks.Caller, rec *ParkRecord) (conv Conversation, leftovers []Webhook, err error) {
	conv, hooks, err := p.checkPark(ctx, caller, rec)
	for _, h := range hooks {
		if p.isUnparkWebhook(h) {
			leftovers = append(leftovers, h)
		}
	}
	return conv, leftovers, err
}

// checkPark reads and checks what preflight describes; it also lists the
// conversation's webhooks, for the leftovers. A failed list only leaves
// leftovers unseen (the sweeper removes them once the park stands).
func (p *Parks) checkPark(ctx context.Context, caller flexhooks.Caller, rec *ParkRecord) (Conversation, []Webhook, error) {
	var (
		conv                       Conversation
		hooks                      []Webhook
		seat                       seatReads
		convErr, flowErr, queueErr error
	)
	claim := seatClaim{ConversationSid: rec.ConversationSid, InteractionSid: rec.InteractionSid, ChannelSid: rec.ChannelSid,
		ParticipantSid: rec.ParticipantSid, TaskSid: rec.TaskSid}
	fns := append(readSeat(ctx, p.tw, p.cfg.WorkspaceSid, claim, &seat),
		func() { conv, convErr = p.tw.FetchConversation(ctx, rec.ConversationSid) },
		func() { _, flowErr = p.tw.FetchWorkflow(ctx, p.cfg.WorkspaceSid, rec.WorkflowSid) },
		func() { hooks, _ = p.tw.ListConversationWebhooks(ctx, rec.ConversationSid) },
	)
	if rec.QueueSid != "" {
		fns = append(fns, func() { _, queueErr = p.tw.FetchQueue(ctx, p.cfg.WorkspaceSid, rec.QueueSid) })
	}
	var back Workflow
	transferred := isTransferTask(rec.TaskAttributes)
	if transferred && p.cfg.DefaultWorkflowSid == "" {
		fns = append(fns, func() { back, _ = p.tw.FindWorkflow(ctx, p.cfg.WorkspaceSid, DefaultWorkflowName) })
	}
	parallel(fns...)
	if convErr != nil {
		return conv, nil, conversationError(rec.ConversationSid, convErr)
	}
	agent, err := seatOf(caller, claim, seat)
	if err != nil {
		return conv, nil, err
	}
	if rec.WorkerSid != "" && rec.WorkerSid != agent.WorkerSid {
		return conv, nil, flexhooks.Errorf(flexhooks.EFORBIDDEN, "participant %s is worker %s's, not %s's", agent.Sid, agent.WorkerSid, rec.WorkerSid)
	}
	rec.WorkerSid, rec.TaskSid = agent.WorkerSid, cmp.Or(rec.TaskSid, agent.TaskSid)
	if t, _ := pendingTransfer(conv.Attributes); t != nil {
		// Its task still routes: parked, the conversation would gain the
		// transfer's target and the customer's next message a second task.
		return conv, nil, flexhooks.Errorf(flexhooks.ECONFLICT, "a transfer of conversation %s to %s is pending; cancel it before parking", rec.ConversationSid, t.describe())
	}
	if err := routeExists("workflowSid", "workflow", rec.WorkflowSid, flowErr); err != nil {
		return conv, nil, err
	}
	if transferred {
		rec.WorkflowSid = cmp.Or(p.cfg.DefaultWorkflowSid, back.Sid, rec.WorkflowSid)
	}
	return conv, hooks, routeExists("queueSid", "task queue", rec.QueueSid, queueErr)
}

// replayedPark answers a park repeated after it succeeded, or racing one
// that did (a double click, a retry after a lost answer, two replicas): the
// participant has left the channel, so its seat is gone, but the park claim
// names it. Only the parking agent or a supervisor is told; anyone else
// gets the refusal. The claim is read only on this path.
func (p *Parks) replayedPark(ctx context.Context, caller flexhooks.Caller, conv Conversation, rec ParkRecord, err error) *ParkResponse {
	// A participant who left is no longer on the channel (409) or, where
	// Flex still lists closed participants, no longer in the conversation
	// (403): either way only the claim can say it was this park.
	if code := flexhooks.ErrorCode(err); (code != flexhooks.ECONFLICT && code != flexhooks.EFORBIDDEN) || conv.State == "closed" {
		return nil
	}
	item, ferr := p.claims.fetch(ctx, p.tw, ParkClaimMap, rec.ConversationSid)
	var held ParkRecord
	if ferr != nil || decodeJSON(item.Data, &held) != nil {
		return nil
	}
	if held.ParticipantSid != rec.ParticipantSid || !caller.MayActFor(held.WorkerSid) {
		return nil
	}
	return alreadyParked(held)
}

// routeExists turns a failed look-up of the route an unpark will take into
// a 400 naming the field: a park whose way back does not exist would strand
// the customer.
func routeExists(field, what, sid string, err error) error {
	if isNotFound(err) {
		return flexhooks.Invalid(map[string]string{field: what + " " + sid + " does not exist in the workspace; the unpark could never route"})
	}
	return err
}

// agentServes reports whether an agent holds the conversation of a park
// found only in its claim: then it never was a park (its agent never
// left), or it was overtaken (a transfer, an unpark, moved it on while the
// claim's delete failed). Either way routing it would make a second task.
// Flex may list participants who left, so each agent's task must be live.
func (p *Parks) agentServes(ctx context.Context, rec ParkRecord) (bool, error) {
	if active, err := p.participantActive(ctx, rec); err != nil || active {
		return active, err
	}
	parts, err := p.tw.ListInteractionParticipants(ctx, rec.InteractionSid, rec.ChannelSid)
	if err != nil {
		return false, err
	}
	for _, part := range parts {
		if part.Type != "agent" || part.Sid == rec.ParticipantSid || part.TaskSid == "" {
			continue
		}
		task, err := p.tw.FetchTask(ctx, p.cfg.WorkspaceSid, part.TaskSid)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return false, err
		}
		if task.AssignmentStatus != "completed" && task.AssignmentStatus != "canceled" {
			return true, nil
		}
	}
	return false, nil
}

// participantActive tells a close whose answer was lost from one that did
// not happen. Flex's list shows no status, and whether it lists closed
// participants at all is undocumented (the emulator can do either), so a
// participant still listed is asked about through its task: closing it
// completes the task.
func (p *Parks) participantActive(ctx context.Context, rec ParkRecord) (bool, error) {
	if rec.ParticipantSid == "" {
		return false, nil // a park put back after its unpark's task was canceled: no agent
	}
	active, err := p.tw.InteractionParticipantActive(ctx, rec.InteractionSid, rec.ChannelSid, rec.ParticipantSid)
	if err != nil || !active || rec.TaskSid == "" {
		return active, err
	}
	task, err := p.tw.FetchTask(ctx, p.cfg.WorkspaceSid, rec.TaskSid)
	if isNotFound(err) {
		return false, nil // ended, and deleted since
	}
	if err != nil {
		return false, err
	}
	return task.AssignmentStatus != "completed" && task.AssignmentStatus != "canceled", nil
}
