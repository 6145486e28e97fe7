package webhooks

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/flexhooks/flexhooks"
)

// OnReservationAccepted arms the inactivity timeout of a conversation whose
// task an agent accepted: register it with
// events.On("reservation.accepted", in.OnReservationAccepted).
//
// One sequential round trip, two calls side by side:
//
//   - the conversation update arming Timers.Inactive (the warning point
//     when a warning is configured, else the channel's timeout);
//   - the create of the conversation's inactivity record in Sync.
//
// The record goes to Sync rather than into the conversation's attributes
// because an attribute write replaces the whole attributes: it would need a
// fetch first (a second round trip) and would race with every other writer
// of the attributes (park, Flex). Everything the record holds comes from the
// event's task attributes, and is the same for every task of the
// conversation (one interaction channel carries them all, transfers and
// unparks included), so a create that finds the record already there
// (54208: a replay, a transfer, an unpark) has nothing to change. So a
// replica that created the record skips the create for the conversation's
// later tasks (an unpark, a transfer: one Sync write each) while the record
// is sure to live (writtenRecords).
//
// No conversation-scoped webhook is created: onConversationStateUpdated
// reaches the service through the Conversations service-level webhook that
// `flexhooks setup` configures.
func (in *Inactivity) OnReservationAccepted(ctx context.Context, ev TaskRouterEvent) error {
	attrs := ev.Attributes()
	rec := inactivityRecordOf(attrs, ev.TaskSid)
	if !validSID("CH", rec.ConversationSid) || !validSID("KD", rec.InteractionSid) || !validSID("UO", rec.ChannelSid) {
		return nil // not a conversation task (voice, a task made by hand)
	}
	timer := in.firstTimer(rec.ChannelType)
	if timer == 0 {
		return nil // no timeout for this channel
	}
	logSids(ctx, "conversationSid", rec.ConversationSid, "interactionSid", rec.InteractionSid)

	var armErr, recErr error
	arm := func() {
		armErr = in.tw.UpdateConversation(ctx, rec.ConversationSid, ConversationUpdate{InactiveTimer: timer})
	}
	if at := ev.time(); in.written.known(rec.ConversationSid, at) {
		arm() // its record is there: this replica wrote it for an earlier task
	} else {
		parallel(arm, func() {
			// Tried three times: TaskRouter sends this event once, and a
			// timer armed with no record fires on nothing to close.
			recErr = retryFailed(ctx, func() error {
				err := in.tw.CreateSyncMapItem(ctx, ShardedMap(InactivityRecordMap, rec.ConversationSid), rec.ConversationSid, rec, inactivityRecordTTL)
				if isConflict(err) {
					return nil // there already (a lost answer, or an earlier task's), with the same content
				}
				return err
			})
			if recErr == nil {
				in.written.remember(rec.ConversationSid, at)
			}
		})
	}
	if isConflict(armErr) || isNotFound(armErr) {
		// The conversation closed (50377) or went away before the event
		// arrived: there is nothing left to time out.
		flexhooks.LogAttrs(ctx, slog.String("inactivity", "conversation closed"))
		return nil
	}
	if armErr != nil {
		return armErr
	}
	if recErr != nil {
		// The timer is armed but the close path cannot find the channel.
		// TaskRouter will not deliver the event again: the error is for the
		// logs and the metrics (docs/twilio-behaviour.md's known holes).
		return recErr
	}
	flexhooks.LogAttrs(ctx, slog.String("inactivity", "armed"), slog.Duration("inactiveTimer", timer))
	return nil
}

// writtenRecords remembers the inactivity records this replica created, by
// conversation, with the accept's time (TaskRouter's clock): records are
// never deleted and live inactivityRecordTTL, so one created less than
// writtenMemory before an accept is there still. A record found already
// there (54208) is not remembered: its age is unknown. Bounded: past
// writtenLimit conversations it forgets them all, costing one create each.
type writtenRecords struct {
	mu sync.Mutex
	at map[string]time.Time
}

const (
	writtenMemory = 24 * time.Hour
	writtenLimit  = 8192
)

func (w *writtenRecords) known(csid string, now time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	at, ok := w.at[csid]
	return ok && now.Sub(at).Abs() < writtenMemory
}

func (w *writtenRecords) remember(csid string, at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.at == nil || len(w.at) >= writtenLimit {
		w.at = make(map[string]time.Time)
	}
	w.at[csid] = at
}
