package webhooks

import (
	"context"
	"maps"
	"slices"

	"github.com/flexhooks/flexhooks"
)

// UnparkRequest is POST /unpark-interaction: an agent (or supervisor)
// resumes a parked conversation from the parked list. The field names are
// flex-project-template's.
type UnparkRequest struct {
	ConversationSid string `json:"ConversationSid" form:"ConversationSid"`
	// WebhookSid is the unpark webhook as the plugin's list item names it.
	// Optional: the webhook is found on the conversation either way.
	WebhookSid string `json:"WebhookSid" form:"WebhookSid"`
	// RouteToSameWorker routes straight to the parking agent instead of
	// through the workflow.
	RouteToSameWorker boolField `json:"RouteToSameWorker" form:"RouteToSameWorker"`
}

// UnparkResponse is the answer to an unpark, from the agent or the customer.
type UnparkResponse struct {
	// Unparked: this request routed the conversation again.
	Unparked bool `json:"unparked"`
	// Reason says why nothing was done when Unparked is false.
	Reason          string `json:"reason,omitempty"`
	ConversationSid string `json:"conversationSid"`
	InviteSid       string `json:"inviteSid,omitempty"`
}

// Why a conversation was routed back, as originalRouting.reason on the
// unpark's task says: a workflow may route a scheduled or expired park
// differently from a customer's reply.
const (
	UnparkByCustomer = "customer"  // the customer wrote
	UnparkByAgent    = "agent"     // an agent resumed it from the parked list
	UnparkScheduled  = "scheduled" // its unparkAt came
	UnparkExpired    = "expired"   // PARK_MAX_AGE came, with PARK_EXPIRY=route
	UnparkStranded   = "stranded"  // the customer wrote but the unpark was lost (the sweeper)
)

// Reasons an unpark does nothing; the request itself was fine.
const (
	ReasonAlreadyUnparked = "already unparked"      // another request won the claim
	ReasonNotCustomer     = "not the customer"      // an agent's, the system's or the service's own message
	ReasonNotParked       = "not parked"            // a leftover webhook, now removed
	ReasonParkInProgress  = "park in progress"      // the customer wrote while the agent was parking
	ReasonIgnoredEvent    = "not an onMessageAdded" // an event type the webhook does not act on
	ReasonClosed          = "conversation closed"
)

func (r *UnparkRequest) validate() error {
	f := fieldErrors{}
	f.sid("ConversationSid", r.ConversationSid, "CH")
	f.optionalSID("WebhookSid", r.WebhookSid, "WH")
	f.check("RouteToSameWorker", r.RouteToSameWorker.err)
	return f.err()
}

// Unpark resumes a parked conversation on an agent's request. Four
// sequential round trips: the parking agent must be known (from the
// conversation) before the claim, or a refused request would have changed
// something; the invite must follow the claim, or two requests could both
// invite.
//
//  1. fetch the conversation ‖ list its webhooks ‖ fetch the park claim,
//     whose record (only flexhooks writes it) says who parked;
//  2. delete the unpark webhook: the claim only one unpark wins;
//  3. invite ‖ clear the park key ‖ delete the list item;
//  4. delete the park claim, once the invite is made (see resume).
//
// A park found only in its claim (no key in the attributes) costs one more
// round trip after the first: whether its agent is still in the
// conversation, in which case it never was a park.
func (p *Parks) Unpark(ctx context.Context, req UnparkRequest) (*UnparkResponse, error) {
	caller, ok := flexhooks.CallerFrom(ctx)
	if !ok {
		return nil, flexhooks.Errorf(flexhooks.EUNAUTHORIZED, "a Flex token is required")
	}
	if err := req.validate(); err != nil {
		return nil, err
	}
	csid := req.ConversationSid
	logSids(ctx, "conversationSid", csid)

	var (
		conv                   Conversation
		hooks                  []Webhook
		claim                  SyncItem
		convErr, lsErr, clmErr error
	)
	parallel(
		func() { conv, convErr = p.tw.FetchConversation(ctx, csid) },
		func() { hooks, lsErr = p.tw.ListConversationWebhooks(ctx, csid) },
		func() { claim, clmErr = p.claims.fetch(ctx, p.tw, ParkClaimMap, csid) },
	)
	if convErr != nil {
		return nil, conversationError(csid, convErr)
	}
	if conv.State == "closed" {
		return nil, flexhooks.Errorf(flexhooks.ECONFLICT, "conversation %s is closed; a closed conversation cannot be resumed", csid)
	}
	rec, err := claimedPark(conv, claim, clmErr)
	if err != nil {
		return nil, err
	}
	if !keyedBy(conv.Attributes, *rec) {
		// Only in its claim: a park whose attributes write failed, or one
		// that failed before its agent left or was overtaken (a transfer)
		// while its claim's delete failed. Only the first is a park.
		if active, err := p.agentServes(ctx, *rec); err != nil {
			return nil, err
		} else if active {
			return nil, flexhooks.Errorf(flexhooks.ECONFLICT, "conversation %s is not parked: its park did not finish, and an agent serves it", csid)
		}
	}
	logSids(ctx, "taskSid", rec.TaskSid, "interactionSid", rec.InteractionSid, "workerSid", rec.WorkerSid)
	if !caller.MayActFor(rec.WorkerSid) {
		return nil, flexhooks.Errorf(flexhooks.EFORBIDDEN, "only the parking agent %s or a supervisor may resume this conversation", rec.WorkerSid)
	}
	if req.RouteToSameWorker.Bool && rec.QueueSid == "" {
		return nil, flexhooks.Errorf(flexhooks.EUNPROCESSABLE, "the park of conversation %s has no queueSid, which routing to the same worker needs; resume it without RouteToSameWorker", csid)
	}
	if lsErr != nil {
		return nil, lsErr
	}
	hook := p.pickUnparkWebhook(hooks, req.WebhookSid)
	if hook == nil {
		// Parked, but no webhook: another unpark has claimed it and is
		// routing the conversation right now.
		return &UnparkResponse{ConversationSid: csid, Reason: ReasonAlreadyUnparked}, nil
	}

	if err := p.tw.DeleteConversationWebhook(ctx, csid, hook.Sid); err != nil {
		if isNotFound(err) {
			return &UnparkResponse{ConversationSid: csid, Reason: ReasonAlreadyUnparked}, nil
		}
		return nil, err
	}
	invite, err := p.resume(ctx, conv, *rec, *hook, UnparkByAgent, bool(req.RouteToSameWorker.Bool))
	if err != nil {
		return nil, err
	}
	return &UnparkResponse{Unparked: true, ConversationSid: csid, InviteSid: invite}, nil
}

// pickUnparkWebhook returns the webhook named by sid when it is there, else
// the conversation's unpark webhook, else nil.
func (p *Parks) pickUnparkWebhook(hooks []Webhook, sid string) *Webhook {
	var found *Webhook
	for i := range hooks {
		if !p.isUnparkWebhook(hooks[i]) {
			continue
		}
		if hooks[i].Sid == sid {
			return &hooks[i]
		}
		if found == nil {
			found = &hooks[i]
		}
	}
	return found
}

// resume routes a parked conversation again, once its caller has won the
// claim (deleted the unpark webhook). Two round trips: the invite ‖
// clearing the park key ‖ deleting the list item; then, once the invite is
// made, deleting the park claim. The claim outlives the invite on purpose:
// it is the one record of the park that only flexhooks writes, so while
// it stands, a park whose invite failed and whose restore failed too is
// still found (by the next message, an agent, or the sweeper) rather than
// forgotten. If the invite fails, the park is put back (a new webhook, the
// key and the list item) so that the next customer message or a retry from
// the list resumes it; the error is returned.
func (p *Parks) resume(ctx context.Context, conv Conversation, rec ParkRecord, claimed Webhook, reason string, sameWorker bool) (string, error) {
	csid := conv.Sid
	var (
		inviteSid                    string
		inviteErr, attrsErr, listErr error
	)
	var fns []func()
	if made := p.earlierInvite(ctx, rec); made != "" {
		inviteSid = made
	} else {
		fns = append(fns, func() {
			inviteSid, inviteErr = p.tw.CreateInteractionInvite(ctx, rec.InteractionSid, rec.ChannelSid, p.inviteRouting(rec, reason, sameWorker))
		})
	}
	cleared, err := withoutPark(conv.Attributes)
	if err == nil && IsParked(conv.Attributes) {
		fns = append(fns, func() { attrsErr = p.tw.UpdateConversationAttributes(ctx, csid, cleared) })
	}
	if rec.Listed {
		fns = append(fns, func() { listErr = p.tw.DeleteSyncMapItem(ctx, ParkedListMap(rec.WorkerSid), csid) })
	}
	parallel(fns...)

	if inviteErr != nil {
		sid, made, checkErr := p.inviteMade(ctx, rec, claimed.Sid)
		switch {
		case made:
			// The invite was made and only its answer was lost: restoring
			// the park now would make a second task on the next message.
			inviteSid, inviteErr = sid, nil
		case checkErr != nil:
			// Unknown: the park is put back (no customer is left without
			// a way back) marked, so the next unpark looks first.
			rec.InviteUnknown = true
		default:
			if fallback, ok := p.fallbackRoute(ctx, rec, inviteErr); ok {
				rec.WorkflowSid = fallback
				inviteSid, inviteErr = p.tw.CreateInteractionInvite(ctx, rec.InteractionSid, rec.ChannelSid, p.inviteRouting(rec, reason, false))
			}
		}
	}
	if inviteErr != nil {
		p.restorePark(ctx, conv, rec, claimed.URL)
		return "", inviteErr
	}
	// The conversation is routed. A failed cleanup step is retried once; a
	// leftover after that is stale bookkeeping, never a second task: the
	// sweeper finishes it (the invite is found by its unpark id), and the
	// next park recognises a record or claim of an earlier participant.
	failed := func(err error) bool { return err != nil && !isNotFound(err) }
	claimErr := p.claims.delete(ctx, p.tw, ParkClaimMap, csid)
	var retry []func()
	if failed(attrsErr) {
		retry = append(retry, func() {
			if err := p.clearParkKey(ctx, csid); err != nil {
				p.log.WarnContext(ctx, "unpark: could not clear the park key", "conversationSid", csid, "err", err)
			}
		})
	}
	if failed(listErr) {
		retry = append(retry, func() {
			if err := p.tw.DeleteSyncMapItem(ctx, ParkedListMap(rec.WorkerSid), csid); failed(err) {
				p.log.WarnContext(ctx, "unpark: could not delete the list item", "conversationSid", csid, "err", err)
			}
		})
	}
	if failed(claimErr) {
		retry = append(retry, func() {
			if err := p.claims.delete(ctx, p.tw, ParkClaimMap, csid); failed(err) {
				p.log.WarnContext(ctx, "unpark: could not delete the park claim", "conversationSid", csid, "err", err)
			}
		})
	}
	parallel(retry...)
	logSids(ctx, "inviteSid", inviteSid)
	return inviteSid, nil
}

// inviteRouting is the invite's Routing: the original workflow, task channel
// and task attributes, plus originalRouting so that a workflow filter with
// known_worker_sid = task.originalRouting.workerSid brings the conversation
// back to the parking agent. Routing to the same worker names the worker and
// queue outright.
func (p *Parks) inviteRouting(rec ParkRecord, reason string, sameWorker bool) map[string]any {
	attrs := maps.Clone(rec.TaskAttributes)
	if attrs == nil {
		attrs = map[string]any{}
	}
	// A parked transfer's task routes back as any parked conversation
	// does (the park chose the default workflow for it): neither the
	// transfer's record (its event handlers would take the unpark's task
	// for that transfer's, and a declined warm one would cancel it) nor its
	// routing keys ride along. Those would route the customer as that
	// transfer did, to its target alone or to its queue minus the workers
	// in the conversation then, and never to the agent who parked.
	for _, k := range transferRoutingKeys {
		delete(attrs, k)
	}
	attrs[unparkIDAttribute] = rec.parkID()
	attrs["originalRouting"] = map[string]any{
		"queueName": rec.QueueName,
		"queueSid":  rec.QueueSid,
		"workerSid": rec.WorkerSid,
		"reason":    reason,
	}
	props := map[string]any{
		"workspace_sid":            p.cfg.WorkspaceSid,
		"workflow_sid":             rec.WorkflowSid,
		"task_channel_unique_name": rec.TaskChannelUniqueName,
		"attributes":               attrs,
	}
	if sameWorker {
		props["worker_sid"] = rec.WorkerSid
		props["queue_sid"] = rec.QueueSid
	}
	return map[string]any{"properties": props}
}

// transferRoutingKeys are the task attributes a transfer's task routes by
// (the Chat Transfer workflow's, as flex-project-template sets them) and
// flexhooks' own record of the transfer.
var transferRoutingKeys = []string{TransferTaskKey, "transferTargetType", "transferTargetSid", "transferQueueName", "workerSidsInConversation"}

// isTransferTask reports whether task attributes are a transfer's task.
func isTransferTask(attrs map[string]any) bool {
	return attrs[TransferTaskKey] != nil || attrs["transferTargetType"] != nil
}

// unparkIDAttribute marks the task an unpark makes with the park it ends
// (parkID: the SID of the agent participant who parked), unique to one
// park (a resumed conversation gets a new participant) and the same for
// every attempt to end it, so an invite whose answer was lost is found by the
// next attempt, the sweeper and the task.canceled event alike. Tasks made
// before this carried the SID of the unpark webhook the unpark deleted;
// inviteMade still recognises those.
const unparkIDAttribute = "flexhooksUnparkId"

// inviteMade looks for an invite ending rec's park among the channel's:
// marked with the park's id, or with one of the legacy webhook SIDs given.
// err: the invites could not be read (tried three times: a wrong answer
// here is a second task or a restored park), so whether it was made is
// unknown.
func (p *Parks) inviteMade(ctx context.Context, rec ParkRecord, legacyIDs ...string) (sid string, made bool, err error) {
	var invs []Invite
	err = retryFailed(ctx, func() (err error) {
		invs, err = p.tw.ListInteractionInvites(ctx, rec.InteractionSid, rec.ChannelSid)
		return err
	})
	if err != nil {
		p.log.WarnContext(ctx, "unpark: could not check whether an invite was made", "conversationSid", rec.ConversationSid, "err", err)
		return "", false, err
	}
	ids := append([]string{rec.parkID()}, legacyIDs...)
	for _, inv := range invs {
		id, _ := inv.TaskAttributes[unparkIDAttribute].(string)
		if id != "" && slices.Contains(ids, id) {
			return inv.Sid, true, nil
		}
	}
	return "", false, nil
}

// earlierInvite returns the invite an earlier attempt to end rec's park
// made without knowing it (InviteUnknown), or "". When the invites cannot
// be read the answer is "": a second task is a smaller harm than a
// customer left without a way back.
func (p *Parks) earlierInvite(ctx context.Context, rec ParkRecord) string {
	if !rec.InviteUnknown {
		return ""
	}
	sid, _, _ := p.inviteMade(ctx, rec, rec.WebhookSid)
	return sid
}

// restorePark puts a park back after a failed invite: a new unpark webhook
// first (the customer's way back), then the record (with the new webhook
// SID), the list item and the claim.
func (p *Parks) restorePark(ctx context.Context, conv Conversation, rec ParkRecord, hookURL string) {
	uctx, cancel := p.undoContext(ctx)
	defer cancel()
	csid := conv.Sid
	if hookURL == "" {
		hookURL = p.unparkURL(customerHint(customerIdentity(rec.TaskAttributes)))
	}
	sid, err := p.tw.CreateConversationWebhook(uctx, csid, Webhook{Target: "webhook", URL: hookURL, Method: "POST", Filters: []string{"onMessageAdded"}})
	if err != nil {
		p.log.ErrorContext(ctx, "unpark: could not restore the unpark webhook after a failed invite; the conversation can be resumed from the parked list only",
			"conversationSid", csid, "err", err)
	} else {
		rec.WebhookSid = sid
	}
	fns := []func(){
		func() {
			p.bestEffort(uctx, "invite failed", "restore claim", p.tw.PutSyncMapItem(uctx, parkClaimMapOf(csid), csid, rec, 0))
		},
	}
	// The key goes back only if the unpark found it: a park only in its
	// claim may be one whose agent never left, which the sweeper undoes
	// only while the key is missing.
	if attrs, err := withPark(conv.Attributes, rec); err == nil && IsParked(conv.Attributes) {
		fns = append(fns, func() {
			p.bestEffort(uctx, "invite failed", "restore park key", p.tw.UpdateConversationAttributes(uctx, csid, attrs))
		})
	}
	if rec.Listed {
		fns = append(fns, func() {
			p.bestEffort(uctx, "invite failed", "restore list item", p.tw.PutSyncMapItem(uctx, ParkedListMap(rec.WorkerSid), csid, parkedListItem(rec), parkedListTTL(rec.ChannelType, p.cfg.ParkedTTL)))
		})
	}
	parallel(fns...)
}

// claimedPark is the park an agent may resume: the record in the park
// claim, which only flexhooks writes. A park key in the attributes without
// its claim is no park (another system wrote it, or an unpark's cleanup
// failed halfway); a claim whose attribute write failed is one.
func claimedPark(conv Conversation, claim SyncItem, claimErr error) (*ParkRecord, error) {
	if claimErr != nil && !isNotFound(claimErr) {
		return nil, claimErr
	}
	parked, _ := ConfirmedPark(conv.Attributes, claim, claimErr)
	var rec ParkRecord
	if !parked || decodeJSON(claim.Data, &rec) != nil || rec.InteractionSid == "" {
		return nil, flexhooks.Errorf(flexhooks.ECONFLICT, "conversation %s is not parked", conv.Sid)
	}
	return &rec, nil
}

// fallbackRoute is the workflow an unpark takes when the invite failed
// because the park's workflow no longer exists (deleted after the park,
// which checked it): the configured default, else the workspace's
// DefaultWorkflowName. The customer still reaches an agent; the fallback
// is logged, since it loses the park's own routing (same worker, queue).
func (p *Parks) fallbackRoute(ctx context.Context, rec ParkRecord, inviteErr error) (string, bool) {
	if flexhooks.ErrorCode(inviteErr) == flexhooks.EUNAVAILABLE {
		return "", false // Twilio down or throttling says nothing about the workflow
	}
	if _, err := p.tw.FetchWorkflow(ctx, p.cfg.WorkspaceSid, rec.WorkflowSid); !isNotFound(err) {
		return "", false
	}
	fallback := p.cfg.DefaultWorkflowSid
	if fallback == "" {
		w, err := p.tw.FindWorkflow(ctx, p.cfg.WorkspaceSid, DefaultWorkflowName)
		if err != nil {
			p.log.ErrorContext(ctx, "unpark: the park's workflow is gone and no fallback workflow was found; set TWILIO_FLEX_DEFAULT_WORKFLOW_SID",
				"conversationSid", rec.ConversationSid, "workflowSid", rec.WorkflowSid, "err", err)
			return "", false
		}
		fallback = w.Sid
	}
	p.log.WarnContext(ctx, "unpark: the park's workflow no longer exists; routing through the fallback workflow",
		"conversationSid", rec.ConversationSid, "workflowSid", rec.WorkflowSid, "fallbackWorkflowSid", fallback)
	return fallback, fallback != rec.WorkflowSid
}
