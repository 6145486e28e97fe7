package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// The inactivity sweep finishes inactivity episodes a delivery of
// onConversationStateUpdated began and did not finish: Twilio delivers that
// webhook no more after a 5xx (docs/twilio-behaviour.md). Every episode the
// service acts on holds a claim in InactivityClaimMap's shards, and a
// failure leaves it held (conversation_state_updated.go): the claims are
// the sweep's list of suspects. A claim is examined once it is older than
// the sweeper's grace (no delivery holding it is still at work: a request's
// deadline is shorter), so no SeenFor is needed: the claim's own creation
// is the first sighting. Claims whose episode needs nothing more (the
// conversation closed, or active again with its work done) are deleted, so
// that the claims left are the episodes in flight, and the sweep's reads
// follow them, not the day's traffic; it lists every shard once (IndexShards
// list calls, most of them empty).

// Inactivity repair kinds.
const (
	// The close's notice went out but the close did not happen.
	RepairInactivityCloseUnfinished = "inactivity_close_unfinished"
	// The warning's notice or its re-arm happened, not both.
	RepairInactivityWarningUnfinished = "inactivity_warning_unfinished"
	// A claim held and nothing done: the conversation is still inactive
	// (its holder failed before its first write, or died).
	RepairInactivityClaimStuck = "inactivity_claim_stuck"
)

// SweepStep is what the sweeper runs for the inactivity timeout.
func (in *Inactivity) SweepStep() SweepStep { return inactivitySweep{in} }

type inactivitySweep struct{ in *Inactivity }

func (inactivitySweep) Name() string { return "inactivity" }

// inactivityClaim is a claim item as the sweep reads it.
type inactivityClaim struct {
	key, csid string
	at        time.Time
	created   time.Time
}

// claimKeyLayout is how a claim key holds the inactivity's time.
const claimKeyLayout = "20060102T150405.000Z"

func parseInactivityClaim(it SyncItem) (inactivityClaim, bool) {
	csid, stamp, ok := strings.Cut(it.Key, "_")
	at, err := time.Parse(claimKeyLayout, stamp)
	if !ok || err != nil || !validSID("CH", csid) {
		return inactivityClaim{}, false
	}
	created := it.DateCreated
	if created.IsZero() {
		created = at
	}
	return inactivityClaim{key: it.Key, csid: csid, at: at, created: created}, true
}

// Sweep examines the newest claim of each conversation.
func (s inactivitySweep) Sweep(ctx context.Context, run *SweepRun) error {
	newest := map[string]inactivityClaim{}
	names := make([]string, IndexShards)
	for i := range names {
		names[i] = fmt.Sprintf("%s_%02x", InactivityClaimMap, i)
	}
	err := run.ScanMaps(ctx, names, func(_ string, it SyncItem) {
		if c, ok := parseInactivityClaim(it); ok && c.at.After(newest[c.csid].at) {
			newest[c.csid] = c
		}
	})
	if err != nil {
		return err
	}
	claims := make([]inactivityClaim, 0, len(newest))
	for _, c := range newest {
		if run.Now.Sub(c.created) >= run.Grace() {
			claims = append(claims, c)
		}
	}
	sort.Slice(claims, func(i, j int) bool { return claims[i].key < claims[j].key })
	var errs []error
	for _, c := range claims {
		errs = append(errs, s.inspect(ctx, run, c))
	}
	return errors.Join(errs...)
}

func (s inactivitySweep) inspect(ctx context.Context, run *SweepRun, c inactivityClaim) error {
	ep, err := s.in.readEpisode(ctx, c.csid, c.at)
	if err != nil {
		return err
	}
	if ep.act == actNone {
		if ep.closed {
			if kept, err := s.recordClose(ctx, run, c); kept || err != nil {
				return err // the claim stays until the record shows the close
			}
		}
		// Done, or nothing to do: the claim has served (a late duplicate
		// delivery finds the conversation's state moved on).
		if !run.DryRun {
			_ = s.in.tw.DeleteSyncMapItem(ctx, ShardedMap(InactivityClaimMap, c.key), c.key)
		}
		return nil
	}
	kind := ep.kind()
	run.Repair(ctx, Repair{
		Kind: kind, Key: c.csid, Detail: ep.why,
		Sids: map[string]string{"conversationSid": c.csid, "interactionSid": ep.rec.InteractionSid, "channelSid": ep.rec.ChannelSid},
		Fix: func(ctx context.Context) error {
			ep, err := s.in.readEpisode(ctx, c.csid, c.at)
			if err != nil {
				return err
			}
			if ep.act == actNone || ep.kind() != kind {
				return ErrRepairUnneeded
			}
			res, err := s.in.act(ctx, ConversationStateEvent{ConversationSid: c.csid}, ep.act, ep.conv, ep.rec, ep.msgs, c.at, ep.notified)
			if err == nil && res.Action == InactivityNone {
				return ErrRepairUnneeded // closed meanwhile
			}
			return err
		},
	})
	return nil
}

// inactivityEpisode is what the sweep reads of an episode, and what decide
// made of it.
type inactivityEpisode struct {
	conv     Conversation
	rec      *InactivityRecord
	msgs     []Message
	act      inactivityAction
	notified bool
	why      string
	closed   bool // the conversation is closed (or gone)
}

func (ep inactivityEpisode) kind() string {
	switch {
	case ep.conv.State == "inactive":
		return RepairInactivityClaimStuck
	case ep.act == actClose:
		return RepairInactivityCloseUnfinished
	default:
		return RepairInactivityWarningUnfinished
	}
}

// readEpisode makes the webhook's reads for the inactivity at of csid, and
// decides as the webhook does. A conversation gone or closed needs nothing.
func (in *Inactivity) readEpisode(ctx context.Context, csid string, at time.Time) (inactivityEpisode, error) {
	var (
		ep                               inactivityEpisode
		item, park                       SyncItem
		convErr, recErr, msgErr, parkErr error
	)
	parallel(
		func() { ep.conv, convErr = in.tw.FetchConversation(ctx, csid) },
		func() { item, recErr = in.fetchRecord(ctx, csid) },
		func() { ep.msgs, msgErr = in.tw.RecentMessages(ctx, csid, recentMessages) },
		func() { park, parkErr = in.parkClaims.fetch(ctx, in.tw, ParkClaimMap, csid) },
	)
	if isNotFound(convErr) || (convErr == nil && ep.conv.State == "closed") {
		ep.why, ep.closed = "conversation closed", true
		return ep, nil
	}
	if err := firstErr(convErr, msgErr, ignoreNotFound(recErr)); err != nil {
		return ep, err
	}
	if recErr == nil {
		ep.rec = new(InactivityRecord)
		if json.Unmarshal(item.Data, ep.rec) != nil || ep.rec.InteractionSid == "" || ep.rec.ChannelSid == "" {
			ep.rec = nil
		}
	}
	parked, known := ConfirmedPark(ep.conv.Attributes, park, parkErr)
	if !known {
		return ep, parkErr // the park decides whether to close: read it next sweep
	}
	if ep.rec == nil && !parked && ep.conv.State == "inactive" {
		var err error
		if ep.rec, err = in.recoverRecord(ctx, csid); err != nil {
			return ep, err
		}
	}
	ep.act, ep.notified, ep.why = in.decide(ep.conv, parked, ep.rec, ep.msgs, at)
	return ep, nil
}
