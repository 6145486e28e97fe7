package webhooks

import (
	"context"
	"time"
)

// A close the inactivity timeout made reaches the interaction record by
// one event: onConversationStateUpdated with state closed. Twilio delivers
// it once, and when the record's write fails the record stays open for
// good: the records' own sweep finds records through TaskRouter's tasks,
// and a conversation closed with no task live (parked, or its tasks gone
// from TaskRouter five minutes after they ended) has none. The inactivity
// sweep already holds a claim for every episode it acts on and reads the
// conversation before letting the claim go: when the conversation is
// closed, it asks the record whether it saw the close, and keeps the claim
// until it has.

// RepairRecordCloseUnseen is the repair kind of an interaction record
// that missed the inactivity timeout's close.
const RepairRecordCloseUnseen = "record_close_unseen"

// InactivityRecords is what the inactivity sweep asks of interaction
// records (Interactions).
type InactivityRecords interface {
	// CloseUnseen reports whether the conversation has a record that does
	// not show it closed.
	CloseUnseen(ctx context.Context, conversationSid string) (bool, error)
	// RecordClose records the conversation closed at at, and abandoned
	// when the inactivity timeout's closing notice went out.
	RecordClose(ctx context.Context, conversationSid string, at time.Time, abandoned bool) error
}

// recordClose plans the record's catch-up with the close of c's
// conversation, and reports whether the claim must be kept for it: the
// record did not show the close (or could not be read).
func (s inactivitySweep) recordClose(ctx context.Context, run *SweepRun, c inactivityClaim) (kept bool, err error) {
	recs := s.in.cfg.Records
	if recs == nil {
		return false, nil
	}
	unseen, err := recs.CloseUnseen(ctx, c.csid)
	if err != nil || !unseen {
		return err != nil, err
	}
	run.Repair(ctx, Repair{
		Kind: RepairRecordCloseUnseen, Key: "record:" + c.csid,
		Sids:   map[string]string{"conversationSid": c.csid},
		Detail: "the conversation closed and its interaction record missed the close",
		Fix: func(ctx context.Context) error {
			at, abandoned, err := s.in.closedAt(ctx, c.csid, run.Now)
			if err != nil {
				return err
			}
			return recs.RecordClose(ctx, c.csid, at, abandoned)
		},
	})
	return true, nil
}

// closedAt is when a closed conversation closed, as far as its messages
// tell: the inactivity timeout's closing notice (the close follows it by
// one round trip), which also says the timeout closed it; else now, an
// upper bound (the close event's exact time, when its write succeeds
// later, is earlier and wins).
func (in *Inactivity) closedAt(ctx context.Context, csid string, now time.Time) (at time.Time, abandoned bool, err error) {
	msgs, err := in.tw.RecentMessages(ctx, csid, recentMessages)
	if err != nil && !isNotFound(err) {
		return time.Time{}, false, err
	}
	for _, m := range msgs {
		if noticeKind(m) == "closing" {
			return m.DateCreated, true, nil
		}
	}
	return now, false, nil
}
