package webhooks

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/flexhooks/flexhooks"
)

// ConversationStateEvent is a Conversations post-event webhook as the
// service-level webhook delivers it (form-encoded, signed). The service-level
// filters may send other events here (onMessageAdded): they are acknowledged
// and ignored.
type ConversationStateEvent struct {
	EventType       string `json:"EventType"`
	ConversationSid string `json:"ConversationSid"`
	StateFrom       string `json:"StateFrom"`
	StateTo         string `json:"StateTo"`
	Reason          string `json:"Reason"`
	// StateUpdated is when the state changed (Twilio's clock); DateUpdated
	// stands in for it when absent.
	StateUpdated string `json:"StateUpdated"`
	DateUpdated  string `json:"DateUpdated"`

	// onMessageAdded's fields (interaction records look for the first
	// agent reply): the message's author, its attributes and its time.
	MessageSid  string `json:"MessageSid"`
	Author      string `json:"Author"`
	Attributes  string `json:"Attributes"`
	DateCreated string `json:"DateCreated"`
}

// InactivityResult says what the state-updated webhook did (for tests and
// the access log; Twilio ignores the body).
type InactivityResult struct {
	ConversationSid string `json:"conversationSid,omitempty"`
	// Action is one of the Inactivity* constants.
	Action string `json:"action"`
}

// What the state-updated webhook did.
const (
	InactivityIgnored = "ignored" // not an inactivity by timer, or the feature is off
	InactivityNone    = "none"    // an inactivity to leave alone: parked, no agent, active or closed again
	InactivityWarned  = "warned"  // the customer was warned; the close is armed
	InactivityRearmed = "rearmed" // someone wrote after the warning: the warning is rescheduled
	InactivityClosed  = "closed"  // notice sent, tasks completed, conversation closed
)

// claimData is the claim item's data (for whoever looks at Sync).
type claimData struct {
	At time.Time `json:"at"`
}

type inactivityAction int

const (
	actNone inactivityAction = iota
	actWarn
	actRearm
	actClose
)

// StateUpdated handles onConversationStateUpdated. Only a move to inactive
// by the timer (Reason TIMER) acts; everything else is answered 200 with
// nothing done.
//
// Round trips on the critical path:
//
//  1. the claim (a Sync item create keyed by conversation and the moment it
//     went inactive: one caller wins, every other gets 54208) ‖ fetch the
//     conversation (state, park record, warning mark) ‖ fetch the
//     inactivity record ‖ the recent messages (who wrote last, and when);
//  2. the notice (warning or closing message);
//  3. close: the interaction channel with routing closed (every live task
//     completes, the conversation closes) — or, for a warning, the re-arm
//     of the timer with the warning mark, which runs alongside the notice
//     in 2.
//
// The claim has to come before the notice and the notice before the close
// (a closed conversation takes no message), so a close with a notice is
// three sequential round trips; without a notice it is two.
func (in *Inactivity) StateUpdated(ctx context.Context, ev ConversationStateEvent) (*InactivityResult, error) {
	res := &InactivityResult{ConversationSid: ev.ConversationSid, Action: InactivityIgnored}
	if ev.EventType != "" && ev.EventType != "onConversationStateUpdated" {
		return res, nil
	}
	if ev.StateTo != "inactive" || !strings.EqualFold(ev.Reason, "TIMER") || !validSID("CH", ev.ConversationSid) {
		return res, nil
	}
	logSids(ctx, "conversationSid", ev.ConversationSid)
	at := eventTime(ev)
	claimKey := func() string { return ev.ConversationSid + "_" + at.UTC().Format("20060102T150405.000Z") }
	claim := func() error {
		return in.tw.CreateSyncMapItem(ctx, ShardedMap(InactivityClaimMap, claimKey()), claimKey(), claimData{At: at}, inactivityClaimTTL)
	}

	var (
		conv                           Conversation
		item, park                     SyncItem
		msgs                           []Message
		convErr, recErr, msgErr, clErr error
		parkErr                        error
	)
	parallel(
		func() {
			if !at.IsZero() {
				clErr = claim()
			}
		},
		func() { conv, convErr = in.tw.FetchConversation(ctx, ev.ConversationSid) },
		func() { item, recErr = in.fetchRecord(ctx, ev.ConversationSid) },
		func() { msgs, msgErr = in.tw.RecentMessages(ctx, ev.ConversationSid, recentMessages) },
		func() {
			park, parkErr = in.parkClaims.fetch(ctx, in.tw, ParkClaimMap, ev.ConversationSid)
		},
	)
	if at.IsZero() && convErr == nil && msgErr == nil {
		// An event without its time: the last activity identifies the
		// inactivity as well (the timer runs from it), at the cost of a
		// claim after the reads rather than beside them.
		if len(msgs) > 0 {
			at = msgs[0].DateCreated
		}
		clErr = claim()
	}
	if isNotFound(convErr) {
		res.Action = InactivityNone
		return res, nil
	}
	// A read that failed leaves the claim held: Twilio delivers this event
	// no more, and the held claim is what the sweeper finishes the
	// inactivity from (inactivity_sweep.go).
	if err := firstErr(convErr, msgErr); err != nil {
		return nil, err
	}
	var rec *InactivityRecord
	switch {
	case recErr == nil:
		rec = new(InactivityRecord)
		if err := json.Unmarshal(item.Data, rec); err != nil || rec.InteractionSid == "" || rec.ChannelSid == "" {
			rec = nil
		}
	case !isNotFound(recErr):
		return nil, recErr
	}

	parked, known := ConfirmedPark(conv.Attributes, park, parkErr)
	if !known {
		in.log.WarnContext(ctx, "inactivity: the park claim could not be read; judging the park from the attributes", "conversationSid", ev.ConversationSid, "err", parkErr)
	}
	if rec == nil && !parked && conv.State == "inactive" {
		// The accept's write of the record failed: rebuilt from the live
		// task. A failure leaves the claim held, for the sweeper.
		var err error
		if rec, err = in.recoverRecord(ctx, ev.ConversationSid); err != nil {
			return nil, err
		}
	}
	act, notified, why := in.decide(conv, parked, rec, msgs, at)
	flexhooks.LogAttrs(ctx, slog.String("inactivity", why))
	if act == actNone {
		res.Action = InactivityNone
		return res, nil
	}
	switch {
	case clErr == nil:
	case isConflict(clErr) && notified:
		// The holder sent the notice and failed after it (or is closing
		// right now): finishing its work is safe, every step left is
		// idempotent.
	case isConflict(clErr):
		// Another delivery holds the claim and has not sent the notice yet:
		// it does the work, or, failing, leaves the claim for the sweeper
		// to finish from. Twilio would not deliver this again anyway.
		flexhooks.LogAttrs(ctx, slog.String("inactivity", "another delivery holds the claim"))
		res.Action = InactivityNone
		return res, nil
	default:
		// Try once more: without a claim nothing in flexhooks' state tells
		// the sweeper of this inactivity. A conflict now is this request's
		// own create whose answer was lost, or another delivery's: either
		// way a claim exists for the sweeper, once the grace has passed.
		// A second failure leaves this delivery the only chance (Twilio
		// sends it once): it acts unclaimed. A concurrent duplicate could
		// then act too; every step but the notice is idempotent, and the
		// notice is checked for first.
		if err := claim(); isConflict(err) {
			res.Action = InactivityNone
			return res, nil
		} else if err != nil {
			in.log.WarnContext(ctx, "inactivity: the episode could not be claimed; acting unclaimed, so the sweeper cannot finish it if this fails",
				"conversationSid", ev.ConversationSid, "err", err)
		}
	}

	return in.act(ctx, ev, act, conv, rec, msgs, at, notified)
}

// act does what decide called for. A failure leaves the episode's claim
// held, for the sweeper to finish from.
func (in *Inactivity) act(ctx context.Context, ev ConversationStateEvent, act inactivityAction, conv Conversation, rec *InactivityRecord, msgs []Message, at time.Time, notified bool) (*InactivityResult, error) {
	switch act {
	case actRearm:
		return in.rearm(ctx, ev, conv, rec, msgs, at)
	case actWarn:
		return in.warn(ctx, ev, conv, rec, msgs, at, notified)
	default:
		return in.close(ctx, ev, rec, msgs, at, notified)
	}
}

// decide says what an inactivity by timer calls for, whether its notice is
// out already, and why (for the log).
//
// The conversation's messages are the progress record: a notice of ours
// newer than the inactivity, with nothing written after it, means a
// delivery of this event sent it and failed before finishing (the notice
// woke the conversation, so it is active again). Finishing then skips the
// notice.
func (in *Inactivity) decide(conv Conversation, parked bool, rec *InactivityRecord, msgs []Message, at time.Time) (act inactivityAction, notified bool, why string) {
	if conv.State == "active" && rec != nil && len(msgs) > 0 && isNotice(msgs[0]) && !msgs[0].DateCreated.Before(at) {
		switch {
		case noticeKind(msgs[0]) == "closing":
			return actClose, true, "finishing a close whose notice went out"
		case noticeKind(msgs[0]) == "warning" && !markedAt(conv.Attributes, at):
			return actWarn, true, "finishing a warning whose notice went out"
		}
	}
	if conv.State == "active" && rec != nil && in.cfg.WarningMessage != "" && markedAt(conv.Attributes, at) && !noticeSince(msgs, "warning", at) {
		// The re-arm went through beside a warning that failed: the
		// conversation is armed for the close but the customer was not
		// warned. Unless someone wrote since, warn (again: the re-arm is
		// idempotent).
		if last, ok := lastWrite(msgs); !ok || !last.After(at) {
			return actWarn, false, "finishing a warning that failed"
		}
	}
	switch {
	case conv.State != "inactive":
		return actNone, false, "conversation is " + conv.State + " now"
	case parked:
		return actNone, false, "parked: left open for the customer"
	case rec == nil:
		return actNone, false, "no agent accepted it: no inactivity record"
	}
	timeout := in.cfg.TimeoutFor(rec.ChannelType)
	if timeout <= 0 {
		return actNone, false, "no timeout for channel " + rec.ChannelType
	}
	mark := markFromAttributes(conv.Attributes)
	last, ok := lastWrite(msgs)
	if mark == nil && ok && at.After(last) && at.Sub(last) < in.dueAfter(timeout)-minTimer {
		// Twilio does not document that a message restarts the inactive
		// timer: this one may have run from when it was armed, not from the
		// last message. Run it again for the time that is left.
		return actRearm, false, "written since the timer was armed"
	}
	if in.warningFor(timeout) == 0 {
		return actClose, false, "timeout"
	}
	if mark == nil {
		return actWarn, false, "warning"
	}
	if !ok || !last.After(mark.WarnedAt) {
		return actClose, false, "silent since the warning"
	}
	// Someone wrote after the warning, which cancelled the close; this
	// inactivity came a shorter timer after that message.
	return actRearm, false, "written since the warning"
}

// noticeSince reports whether a notice of the kind went out at or after at.
func noticeSince(msgs []Message, kind string, at time.Time) bool {
	for _, m := range msgs {
		if m.DateCreated.Before(at) {
			return false
		}
		if noticeKind(m) == kind {
			return true
		}
	}
	return false
}

// markedAt reports whether the warning mark is the one of the inactivity at.
func markedAt(attributes string, at time.Time) bool {
	m := markFromAttributes(attributes)
	return m != nil && m.WarnedAt.Equal(at)
}

// warn sends the warning and arms the close: the conversation becomes active
// (the message wakes it) with Timers.Inactive set to what remains of the
// timeout, and the warning mark in its attributes. Message and update run
// side by side: whichever Twilio applies first, the timer ends up armed for
// the remainder from about now.
func (in *Inactivity) warn(ctx context.Context, ev ConversationStateEvent, conv Conversation, rec *InactivityRecord, msgs []Message, at time.Time, notified bool) (*InactivityResult, error) {
	timeout := in.cfg.TimeoutFor(rec.ChannelType)
	remain := timeout - in.warningFor(timeout)
	attrs, err := withMark(conv.Attributes, &inactivityMark{WarnedAt: at})
	if err != nil {
		return nil, &flexhooks.Error{Code: flexhooks.EUPSTREAM, Message: "conversation attributes are not a JSON object", Err: err}
	}
	var msgErr, updErr error
	parallel(
		func() {
			if notified {
				return
			}
			_, msgErr = in.notify(ctx, rec, msgs, at, in.cfg.WarningMessage, "warning")
		},
		func() {
			updErr = in.tw.UpdateConversation(ctx, ev.ConversationSid, ConversationUpdate{State: "active", InactiveTimer: remain, Attributes: &attrs})
		},
	)
	if isConflict(msgErr) || isConflict(updErr) {
		return &InactivityResult{ConversationSid: ev.ConversationSid, Action: InactivityNone}, nil // closed meanwhile
	}
	if err := firstErr(msgErr, updErr); err != nil {
		// The held claim is what the sweeper finishes from; a warning that
		// went out tells it not to send another.
		return nil, err
	}
	return &InactivityResult{ConversationSid: ev.ConversationSid, Action: InactivityWarned}, nil
}

// rearm reschedules the warning after someone wrote following a warning:
// the mark goes, and the timer is set so that the warning comes the
// configured time after that last message (at once when that time is past).
func (in *Inactivity) rearm(ctx context.Context, ev ConversationStateEvent, conv Conversation, rec *InactivityRecord, msgs []Message, at time.Time) (*InactivityResult, error) {
	timeout := in.cfg.TimeoutFor(rec.ChannelType)
	last, _ := lastWrite(msgs)
	left := in.dueAfter(timeout) - at.Sub(last)
	if left < minTimer && in.warningFor(timeout) == 0 {
		return in.close(ctx, ev, rec, msgs, at, false)
	}
	if left < minTimer {
		// The warning is due now: warn as on a first inactivity.
		conv.Attributes, _ = withMark(conv.Attributes, nil)
		return in.warn(ctx, ev, conv, rec, msgs, at, false)
	}
	attrs, err := withMark(conv.Attributes, nil)
	if err != nil {
		return nil, &flexhooks.Error{Code: flexhooks.EUPSTREAM, Message: "conversation attributes are not a JSON object", Err: err}
	}
	err = in.tw.UpdateConversation(ctx, ev.ConversationSid, ConversationUpdate{State: "active", InactiveTimer: left, Attributes: &attrs})
	if isConflict(err) {
		return &InactivityResult{ConversationSid: ev.ConversationSid, Action: InactivityNone}, nil
	}
	if err != nil {
		return nil, err
	}
	return &InactivityResult{ConversationSid: ev.ConversationSid, Action: InactivityRearmed}, nil
}

// close sends the closing notice, then closes the interaction channel with
// routing closed: every live task of the channel completes (after transfers
// and unparks too; completed ones are left alone) and the conversation
// closes, so the customer's next message starts a new one.
func (in *Inactivity) close(ctx context.Context, ev ConversationStateEvent, rec *InactivityRecord, msgs []Message, at time.Time, notified bool) (*InactivityResult, error) {
	if in.cfg.Closing != nil {
		var wg sync.WaitGroup
		wg.Go(func() { in.cfg.Closing(ctx, ev.ConversationSid) })
		defer wg.Wait()
	}
	if !notified {
		_, err := in.notify(ctx, rec, msgs, at, in.cfg.Message, "closing")
		if isConflict(err) {
			// The conversation closed meanwhile (50377): whoever closed it
			// ended the tasks too.
			return &InactivityResult{ConversationSid: ev.ConversationSid, Action: InactivityNone}, nil
		}
		if err != nil {
			return nil, err
		}
	}
	// The record stays (its TTL removes it): the sweeper's finishing of a failed
	// close needs it, and a closed conversation's SID is never reused.
	closeErr := in.tw.CloseInteractionChannel(ctx, rec.InteractionSid, rec.ChannelSid)
	if closeErr != nil && !isConflict(closeErr) {
		// A notice that went out is the progress record the sweeper
		// finishes from (without sending it again).
		return nil, closeErr
	}
	return &InactivityResult{ConversationSid: ev.ConversationSid, Action: InactivityClosed}, nil
}

// notify sends a notice to the customer. On WhatsApp, once the customer's
// last message is older than 24 hours free text is refused: the approved
// template goes instead when one is configured, else nothing (logged).
func (in *Inactivity) notify(ctx context.Context, rec *InactivityRecord, msgs []Message, at time.Time, body, kind string) (sent bool, err error) {
	if body == "" {
		return false, nil
	}
	m := OutboundMessage{Body: body, Attributes: `{"` + messageMarker + `":"` + kind + `"}`}
	if strings.EqualFold(rec.ChannelType, "whatsapp") && !customerWroteSince(msgs, rec.CustomerAddress, at.Add(-whatsAppWindow)) {
		if in.cfg.WhatsAppContentSid == "" {
			flexhooks.LogAttrs(ctx, slog.String("inactivityNotice", "skipped: WhatsApp 24-hour window closed and no INACTIVITY_WHATSAPP_CONTENT_SID"))
			return false, nil
		}
		m.Body, m.ContentSid = "", in.cfg.WhatsAppContentSid
		flexhooks.LogAttrs(ctx, slog.String("inactivityNotice", "template: WhatsApp 24-hour window closed"))
	}
	if err := in.tw.SendMessage(ctx, rec.ConversationSid, m); err != nil {
		return false, err
	}
	return true, nil
}

// lastWrite is when someone (customer or agent) last wrote: the newest
// message that is not one of the service's notices.
func lastWrite(msgs []Message) (time.Time, bool) {
	for _, m := range msgs {
		if !isNotice(m) {
			return m.DateCreated, true
		}
	}
	return time.Time{}, false
}

// recentMessages is how many of the newest messages are read: enough to
// find who wrote last and, usually, the customer's last message.
const recentMessages = 20

// customerWroteSince reports whether the customer wrote at or after since.
// msgs are newest first. When it cannot tell (the customer is not known, or
// every message read is recent and none is the customer's) it says yes: the
// notice is tried as text rather than dropped.
func customerWroteSince(msgs []Message, customer string, since time.Time) bool {
	if customer == "" {
		return true
	}
	for _, m := range msgs {
		if m.DateCreated.Before(since) {
			return false
		}
		if strings.EqualFold(m.Author, customer) {
			return true
		}
	}
	return len(msgs) >= recentMessages
}

// eventTime is when the conversation changed state.
func eventTime(ev ConversationStateEvent) time.Time {
	for _, s := range []string{ev.StateUpdated, ev.DateUpdated} {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
