package webhooks

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
)

// ParkSweepTwilio is what the park sweep needs beyond ParkTwilio: listing
// claims and parked lists, the customer's recent messages, and closing an
// expired park.
type ParkSweepTwilio interface {
	ParkTwilio
	ListSyncMapItemsAfter(ctx context.Context, mapName, from string, limit int) ([]SyncItem, error)
	// ListSyncMapNames lists the unique names of the maps starting with prefix.
	ListSyncMapNames(ctx context.Context, prefix string) ([]string, error)
	RecentMessages(ctx context.Context, conversationSid string, n int) ([]Message, error)
	SendMessage(ctx context.Context, conversationSid string, m OutboundMessage) error
	CloseInteractionChannel(ctx context.Context, interactionSid, channelSid string) error
	// ListTasks lists the workspace's tasks (task_list.go).
	ListTasks(ctx context.Context, workspaceSid string, o TaskListOptions) ([]TaskSummary, error)
}

// Repair kinds of the park sweep (flexhooks_repairs_total{kind}).
const (
	RepairParkClosed        = "park_conversation_closed" // claim and list item of a closed conversation
	RepairParkUnfinished    = "park_unfinished"          // the agent never left: the park is undone
	RepairParkKeyMissing    = "park_key_missing"         // a park only in its claim: the key is written
	RepairParkHookMissing   = "park_webhook_missing"     // no way back: the webhook is made again
	RepairParkHookDuplicate = "park_webhook_duplicate"   // two ways back: one is removed
	RepairUnparkUnfinished  = "unpark_unfinished"        // routed, but the park's bookkeeping remains
	RepairParkScheduled     = "park_scheduled"           // a snooze ended: routed back
	RepairParkExpired       = "park_expired"             // PARK_MAX_AGE reached: closed or routed back
	RepairParkedListStale   = "parked_list_stale"        // a list item of no park
	RepairUnparkCanceled    = "unpark_task_canceled"     // an unpark's task ended without an agent: parked again
)

// sweepConcurrency bounds the conversations a sweep checks at once: a
// sweep is background work and must leave the account's API concurrency to
// the operations agents wait on.
const sweepConcurrency = 8

type parkSweep struct {
	p  *Parks
	tw ParkSweepTwilio
	// closing is told before an expired park is closed (interaction
	// records mark it Closed Abandoned); nil when records are off.
	closing func(ctx context.Context, conversationSid string)
}

// SweepStep is the parks' sweep: every park claim older than the grace is
// checked against its conversation (two reads in one round trip), which
// finds a park only in its claim, one without its unpark webhook or with
// two, an unpark that routed but left its bookkeeping, a closed
// conversation's leftovers, a snooze that has ended and a park past
// PARK_MAX_AGE; then the parked lists are checked against the claims.
func (p *Parks) SweepStep(tw ParkSweepTwilio, closing func(context.Context, string)) SweepStep {
	return &parkSweep{p: p, tw: tw, closing: closing}
}

func (s *parkSweep) Name() string { return "parks" }

func (s *parkSweep) Sweep(ctx context.Context, run *SweepRun) error {
	claims := map[string]ParkRecord{}
	var old []SyncItem
	err := run.ScanMaps(ctx, ParkClaimMaps(), func(_ string, it SyncItem) {
		var rec ParkRecord
		if decodeJSON(it.Data, &rec) != nil || rec.InteractionSid == "" {
			return // not a claim this service wrote; left alone
		}
		rec.ConversationSid = it.Key
		claims[it.Key] = rec
		if run.Now.Sub(it.DateCreated) >= run.Grace() {
			old = append(old, it) // younger ones may be parks in progress
		}
	})
	if err != nil {
		return err
	}
	// In random order: a sweep cut short (POST /admin/sweep runs under a
	// request's deadline) must not always reach the same parks first.
	rand.Shuffle(len(old), func(i, j int) { old[i], old[j] = old[j], old[i] })
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(sweepConcurrency)
	for _, it := range old {
		g.Go(func() error { s.check(gctx, run, claims[it.Key]); return nil })
	}
	_ = g.Wait()
	if err := s.sweepCanceled(ctx, run, claims); err != nil {
		return err
	}
	return s.sweepLists(ctx, run, claims)
}

// sweepCanceled reparks conversations whose unpark task was canceled
// without an agent (the event handler's work, when its event was lost).
// One list call, narrowed to unpark tasks by an expression
// (https://www.twilio.com/docs/taskrouter/expression-syntax; a task it
// lets through that is not an unpark's is skipped by parkOfUnparkTask):
// TaskRouter keeps a canceled task listable for minutes only, which a
// sweep every SWEEP_INTERVAL (1 minute) outruns.
func (s *parkSweep) sweepCanceled(ctx context.Context, run *SweepRun, claims map[string]ParkRecord) error {
	tasks, err := s.tw.ListTasks(ctx, s.p.cfg.WorkspaceSid, TaskListOptions{
		Statuses: []string{"canceled"}, Evaluate: unparkIDAttribute + ` != ""`, NewestFirst: true, Limit: 1000,
	})
	if err != nil {
		return err
	}
	for _, t := range tasks {
		if t, err = s.withAttributes(ctx, t); err != nil {
			s.p.log.WarnContext(ctx, "sweep: could not read a canceled task; next sweep", "taskSid", t.Sid, "err", err)
			continue
		}
		rec, ok := parkOfUnparkTask(t)
		if _, parked := claims[rec.ConversationSid]; !ok || parked {
			continue
		}
		rp := s.repair(RepairUnparkCanceled, rec, "the unpark's task "+t.Sid+" was canceled without an agent", func(ctx context.Context) error {
			done, err := s.p.repark(ctx, s.tw, t)
			if err == nil && !done {
				return ErrRepairUnneeded
			}
			return err
		})
		rp.Sids["taskSid"] = t.Sid
		run.Repair(ctx, rp)
	}
	return nil
}

// withAttributes fills in a listed task's attributes when the list left
// them out (TaskRouter's spec shows them only when one task is fetched).
// The list is narrowed to unpark tasks, so this reads only those.
func (s *parkSweep) withAttributes(ctx context.Context, t TaskSummary) (TaskSummary, error) {
	if len(t.Attributes) > 0 {
		return t, nil
	}
	full, err := s.tw.FetchTask(ctx, s.p.cfg.WorkspaceSid, t.Sid)
	if err != nil {
		return t, err
	}
	t.Attributes = full.Attributes
	return t, nil
}

// parkView is what one check reads of a parked conversation.
type parkView struct {
	conv  Conversation
	hooks []Webhook // the unpark webhooks only
	keyed bool      // the attributes hold this park's key
}

// check reads one park's conversation and hands what is wrong to repairs.
func (s *parkSweep) check(ctx context.Context, run *SweepRun, rec ParkRecord) {
	v, gone, err := s.read(ctx, rec)
	if err != nil {
		s.p.log.WarnContext(ctx, "sweep: could not read a parked conversation; next sweep", "conversationSid", rec.ConversationSid, "err", err)
		return
	}
	if gone {
		run.Repair(ctx, s.repair(RepairParkClosed, rec, "the conversation is closed or gone; its claim and list item are removed", s.forget(rec)))
		return
	}
	if rec.InviteUnknown {
		if _, made, err := s.p.inviteMade(ctx, rec, rec.WebhookSid); err != nil || made {
			if made {
				run.Repair(ctx, s.repair(RepairUnparkUnfinished, rec, "an unpark whose invite was thought lost routed the conversation: the park it put back is removed", s.endRoutedPark(rec)))
			}
			return
		}
	}
	if !v.keyed {
		if done := s.checkUnkeyed(ctx, run, rec, v); done {
			return
		}
	}
	switch {
	case len(v.hooks) == 0:
		s.checkMissingHook(ctx, run, rec)
	case len(v.hooks) > 1:
		run.Repair(ctx, s.repair(RepairParkHookDuplicate, rec, "more than one unpark webhook: one customer message would make two tasks", s.dropExtraHooks(rec)))
	case s.p.cfg.MaxAge > 0 && run.Now.Sub(rec.ParkedAt) >= s.p.cfg.MaxAge:
		run.Repair(ctx, s.repair(RepairParkExpired, rec, "parked since "+rec.ParkedAt.Format(time.RFC3339), s.expire(rec)))
	case !rec.UnparkAt.IsZero() && !run.Now.Before(rec.UnparkAt):
		run.Repair(ctx, s.repair(RepairParkScheduled, rec, "unparkAt "+rec.UnparkAt.Format(time.RFC3339), s.routeBack(rec, UnparkScheduled)))
	}
}

// read fetches rec's conversation and its webhooks together. gone: the
// conversation is closed or deleted.
func (s *parkSweep) read(ctx context.Context, rec ParkRecord) (v parkView, gone bool, err error) {
	csid := rec.ConversationSid
	var hooks []Webhook
	var convErr, hooksErr error
	parallel(
		func() { v.conv, convErr = s.tw.FetchConversation(ctx, csid) },
		func() { hooks, hooksErr = s.tw.ListConversationWebhooks(ctx, csid) },
	)
	switch {
	case isNotFound(convErr) || (convErr == nil && v.conv.State == "closed"):
		return v, true, nil
	case convErr != nil:
		return v, false, convErr
	case hooksErr != nil:
		return v, false, hooksErr
	}
	for _, h := range hooks {
		if s.p.isUnparkWebhook(h) {
			v.hooks = append(v.hooks, h)
		}
	}
	v.keyed = keyedBy(v.conv.Attributes, rec)
	return v, false, nil
}

// keyedBy reports whether the attributes hold the park key of rec's park.
func keyedBy(attributes string, rec ParkRecord) bool {
	key, _ := parkFromAttributes(attributes)
	return key != nil && key.ParticipantSid == rec.ParticipantSid
}

func (s *parkSweep) repair(kind string, rec ParkRecord, detail string, fix func(context.Context) error) Repair {
	// One lock for every repair of a park: each acts on the same key,
	// webhook and claim.
	return Repair{Kind: kind, Key: rec.ConversationSid, Lock: "park", Detail: detail, Fix: fix, Sids: map[string]string{
		"conversationSid": rec.ConversationSid, "interactionSid": rec.InteractionSid, "workerSid": rec.WorkerSid, "taskSid": rec.TaskSid,
	}}
}

// checkUnkeyed handles a claim whose conversation attributes do not hold
// its key. done: nothing more to check this sweep.
func (s *parkSweep) checkUnkeyed(ctx context.Context, run *SweepRun, rec ParkRecord, v parkView) (done bool) {
	active, err := s.p.agentServes(ctx, rec)
	switch {
	case err != nil:
		return true
	case active:
		// An agent serves the conversation: the park failed before its
		// agent left and its undo did not finish, or something moved the
		// conversation on (a transfer) while the claim's delete failed.
		run.Repair(ctx, s.repair(RepairParkUnfinished, rec, "an agent serves the conversation: the park is undone", s.undo(rec)))
		return true
	}
	if len(v.hooks) == 0 {
		if _, made, err := s.p.inviteMade(ctx, rec, rec.WebhookSid); err != nil {
			return true
		} else if made {
			run.Repair(ctx, s.repair(RepairUnparkUnfinished, rec, "the unpark routed the conversation; its claim remained", s.forget(rec)))
			return true
		}
	}
	run.Repair(ctx, s.repair(RepairParkKeyMissing, rec, "the park is only in its claim: the key is written to the attributes", s.writeKey(rec)))
	return false
}

// checkMissingHook handles a park without its unpark webhook. An unpark
// looks exactly so while it routes (it deleted the webhook and is
// inviting), so the park must have been seen so for the grace before it
// is judged: then it is either an unpark that routed and left its
// bookkeeping, or one that was lost, whose customer gets their way back.
func (s *parkSweep) checkMissingHook(ctx context.Context, run *SweepRun, rec ParkRecord) {
	obs := rec.ConversationSid + ":" + rec.ParticipantSid
	seen, err := run.SeenFor(ctx, RepairParkHookMissing, obs)
	if err != nil || seen < run.Grace() {
		return
	}
	_, made, err := s.p.inviteMade(ctx, rec, rec.WebhookSid)
	switch {
	case err != nil:
		return // unknown: the next sweep looks again
	case made:
		run.Repair(ctx, s.repair(RepairUnparkUnfinished, rec, "the unpark routed the conversation; its park bookkeeping remained", s.finishUnpark(rec)))
	default:
		run.Repair(ctx, s.repair(RepairParkHookMissing, rec, "no unpark webhook and no unpark: the customer had no way back", s.restoreHook(rec)))
	}
	run.Forget(ctx, RepairParkHookMissing, obs)
}

// forget removes what remains of a park whose conversation was closed or
// routed: the claim and the list item.
func (s *parkSweep) forget(rec ParkRecord) func(context.Context) error {
	return func(ctx context.Context) error {
		csid := rec.ConversationSid
		var claimErr, listErr error
		parallel(
			func() { claimErr = s.p.claims.delete(ctx, s.tw, ParkClaimMap, csid) },
			func() { listErr = s.tw.DeleteSyncMapItem(ctx, ParkedListMap(rec.WorkerSid), csid) },
		)
		if isNotFound(claimErr) && isNotFound(listErr) {
			return ErrRepairUnneeded // another replica, or the unpark, got there first
		}
		if err := ignoreNotFound(claimErr); err != nil {
			return err
		}
		return ignoreNotFound(listErr)
	}
}

// finishUnpark is forget plus the park key: an unpark that routed the
// conversation and whose cleanup failed.
func (s *parkSweep) finishUnpark(rec ParkRecord) func(context.Context) error {
	return func(ctx context.Context) error {
		conv, err := s.tw.FetchConversation(ctx, rec.ConversationSid)
		if err != nil && !isNotFound(err) {
			return err
		}
		cleared := err == nil && keyedBy(conv.Attributes, rec)
		if cleared {
			if err := s.p.clearParkKey(ctx, rec.ConversationSid); err != nil {
				return err
			}
		}
		return alsoDone(s.forget(rec)(ctx), cleared)
	}
}

// alsoDone is err, except that a forget which found nothing left is no
// "unneeded" repair when the fix did something before it.
func alsoDone(err error, did bool) error {
	if did && errors.Is(err, ErrRepairUnneeded) {
		return nil
	}
	return err
}

// endRoutedPark removes every trace of a park whose unpark routed the
// conversation after all: its webhooks, key, claim and list item.
func (s *parkSweep) endRoutedPark(rec ParkRecord) func(context.Context) error {
	return func(ctx context.Context) error {
		v, gone, err := s.read(ctx, rec)
		if err != nil {
			return err
		}
		if !gone {
			for _, h := range v.hooks {
				if err := ignoreNotFound(s.tw.DeleteConversationWebhook(ctx, rec.ConversationSid, h.Sid)); err != nil {
					return err
				}
			}
		}
		return alsoDone(s.finishUnpark(rec)(ctx), !gone && len(v.hooks) > 0)
	}
}

// undo removes a park whose agent never left: its webhooks, claim and list
// item (the key was never written, or the check would not be here).
func (s *parkSweep) undo(rec ParkRecord) func(context.Context) error {
	return func(ctx context.Context) error {
		v, gone, err := s.read(ctx, rec)
		if err != nil {
			return err
		}
		if !gone && v.keyed {
			return ErrRepairUnneeded // the park finished after all
		}
		for _, h := range v.hooks {
			if err := ignoreNotFound(s.tw.DeleteConversationWebhook(ctx, rec.ConversationSid, h.Sid)); err != nil {
				return err
			}
		}
		return alsoDone(s.forget(rec)(ctx), len(v.hooks) > 0)
	}
}

// writeKey merges the park key into the conversation's current attributes.
func (s *parkSweep) writeKey(rec ParkRecord) func(context.Context) error {
	return func(ctx context.Context) error {
		conv, err := s.tw.FetchConversation(ctx, rec.ConversationSid)
		if err != nil {
			return err
		}
		if keyedBy(conv.Attributes, rec) || conv.State == "closed" {
			return ErrRepairUnneeded
		}
		attrs, err := withPark(conv.Attributes, rec)
		if err != nil {
			return err
		}
		return s.tw.UpdateConversationAttributes(ctx, rec.ConversationSid, attrs)
	}
}

// dropExtraHooks keeps one unpark webhook (the one the record names, else
// the first listed) and deletes the others.
func (s *parkSweep) dropExtraHooks(rec ParkRecord) func(context.Context) error {
	return func(ctx context.Context) error {
		v, gone, err := s.read(ctx, rec)
		if err != nil {
			return err
		}
		if gone || len(v.hooks) < 2 {
			return ErrRepairUnneeded
		}
		keep := v.hooks[0].Sid
		for _, h := range v.hooks {
			if h.Sid == rec.WebhookSid {
				keep = h.Sid
			}
		}
		for _, h := range v.hooks {
			if h.Sid == keep {
				continue
			}
			if err := ignoreNotFound(s.tw.DeleteConversationWebhook(ctx, rec.ConversationSid, h.Sid)); err != nil {
				return err
			}
		}
		return nil
	}
}

// customerWroteSince reports whether the customer has written since t:
// then a park without its webhook has stranded them, and they are routed
// at once rather than made to write again.
func (s *parkSweep) customerWroteSince(ctx context.Context, rec ParkRecord, t time.Time) (bool, error) {
	id := customerIdentity(rec.TaskAttributes)
	msgs, err := s.tw.RecentMessages(ctx, rec.ConversationSid, 20)
	if err != nil {
		return false, err
	}
	// Twilio's dates are whole seconds: a message in the park's own second
	// counts as after it.
	since := t.Truncate(time.Second)
	for _, m := range msgs {
		if !m.DateCreated.Before(since) && id != "" && strings.EqualFold(m.Author, id) {
			return true, nil
		}
	}
	return false, nil
}

// ParkClaimMapFor names the Sync map holding a conversation's park claim,
// for tools and benchmarks that lay out parks by hand.
func ParkClaimMapFor(conversationSid string) string { return parkClaimMapOf(conversationSid) }
