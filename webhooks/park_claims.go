package webhooks

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Park and transfer claims live in Sync maps spread over ClaimShards
// shards, "{kind}_{x}" with x the conversation SID's last hex digit, not
// in one map each: every park writes its claim twice (create, delete) and
// reads it on unpark and on every inactivity of a conversation, and a
// single map passed Sync's 20 writes a second at 50 new conversations a
// second (docs/scaling.md). Sixteen shards take a contact centre to about
// 800 new conversations a second before one passes the limit, and cost the
// sweeper only sixteen list calls a sweep. Claims are few and small, so
// they need far fewer shards than records.
//
// Deployments that ran an earlier version have claims in the single maps
// ParkClaimMap and TransferClaimMap (a park may last days). While such a
// map holds items (checked at most every legacyRecheck), a claim missing
// from its shard is looked for there, and the sweeper's first step moves
// every legacy claim into its shard; once the legacy map is empty the
// fallback costs nothing.

// ClaimShards is how many maps each kind of claim is spread over.
const ClaimShards = 16

// parkClaimMapOf is the Sync map holding the park claim of a conversation.
func parkClaimMapOf(conversationSid string) string {
	return claimShard(ParkClaimMap, conversationSid)
}

// transferClaimMapOf is the Sync map holding the transfer claim of a
// conversation.
func transferClaimMapOf(conversationSid string) string {
	return claimShard(TransferClaimMap, conversationSid)
}

func claimShard(kind, conversationSid string) string { return kind + "_" + shardOf(conversationSid, 1) }

// ParkClaimMaps are every shard park claims live in: what the sweeper scans.
func ParkClaimMaps() []string { return claimShards(ParkClaimMap) }

// TransferClaimMaps are every shard transfer claims live in.
func TransferClaimMaps() []string { return claimShards(TransferClaimMap) }

func claimShards(kind string) []string {
	out := make([]string, 0, ClaimShards)
	for i := range ClaimShards {
		out = append(out, fmt.Sprintf("%s_%x", kind, i))
	}
	return out
}

// claimReader is what reading a claim with its legacy fallback takes.
type claimReader interface {
	FetchSyncMapItem(ctx context.Context, mapName, key string) (SyncItem, error)
	DeleteSyncMapItem(ctx context.Context, mapName, key string) error
	ListSyncMapItems(ctx context.Context, mapName string, limit int) ([]SyncItem, error)
}

// legacyClaims remembers whether a legacy single claim map still holds
// items, asking Sync at most once per legacyRecheck (one list call of one
// item). A failed check counts as holding items: a claim must not be
// missed because Sync failed once.
type legacyClaims struct {
	mu      sync.Mutex
	checked map[string]time.Time
	present map[string]bool
}

func (l *legacyClaims) holds(ctx context.Context, tw claimReader, kind string) bool {
	if present, fresh := l.cached(kind); fresh {
		return present
	}
	items, err := tw.ListSyncMapItems(ctx, kind, 1)
	present := err != nil || len(items) > 0
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.checked == nil {
		l.checked, l.present = map[string]time.Time{}, map[string]bool{}
	}
	if err == nil {
		l.checked[kind] = time.Now()
	}
	l.present[kind] = present
	return present
}

func (l *legacyClaims) cached(kind string) (present, fresh bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	at, ok := l.checked[kind]
	return l.present[kind], ok && time.Since(at) < legacyRecheck
}

// fetch reads a conversation's claim of kind from its shard, or from the
// legacy map while that holds items. When the legacy map's state is due
// for a check, the check runs beside the shard's read, so that it adds no
// round trip to the operation reading the claim.
func (l *legacyClaims) fetch(ctx context.Context, tw claimReader, kind, csid string) (SyncItem, error) {
	var (
		it  SyncItem
		err error
	)
	read := func() { it, err = tw.FetchSyncMapItem(ctx, claimShard(kind, csid), csid) }
	if _, fresh := l.cached(kind); fresh {
		read()
	} else {
		parallel(read, func() { l.holds(ctx, tw, kind) })
	}
	if !isNotFound(err) || !l.holds(ctx, tw, kind) {
		return it, err
	}
	old, lerr := tw.FetchSyncMapItem(ctx, kind, csid)
	if isNotFound(lerr) {
		return it, err
	}
	return old, lerr
}

// delete removes a conversation's claim of kind from its shard and, while
// the legacy map holds items, from there too.
func (l *legacyClaims) delete(ctx context.Context, tw claimReader, kind, csid string) error {
	err := tw.DeleteSyncMapItem(ctx, claimShard(kind, csid), csid)
	if !isNotFound(err) || !l.holds(ctx, tw, kind) {
		return err
	}
	return tw.DeleteSyncMapItem(ctx, kind, csid)
}

// RepairClaimMigrated counts a claim moved from a legacy single map into
// its shard.
const RepairClaimMigrated = "claim_migrated"

// ClaimMigration is the sweep step that empties the legacy claim maps of
// earlier versions into the shards; it runs first, so that the steps after
// it see every claim. Two list calls a sweep once they are empty.
func ClaimMigration(tw SweepTwilio) SweepStep { return claimMigration{tw} }

type claimMigration struct{ tw SweepTwilio }

func (claimMigration) Name() string { return "claim migration" }

func (m claimMigration) Sweep(ctx context.Context, run *SweepRun) error {
	for _, kind := range []string{ParkClaimMap, TransferClaimMap} {
		var items []SyncItem
		if err := run.ScanMap(ctx, kind, func(it SyncItem) { items = append(items, it) }); err != nil {
			return err
		}
		for _, it := range items {
			run.Repair(ctx, Repair{Kind: RepairClaimMigrated, Key: kind + ":" + it.Key, Detail: "moved from " + kind + " to " + claimShard(kind, it.Key),
				Sids: map[string]string{"conversationSid": it.Key}, Fix: m.move(kind, it, run.Now)})
		}
	}
	return nil
}

// move copies the claim into its shard (one already there wins: it is
// newer) with what is left of its TTL, then deletes the legacy item.
func (m claimMigration) move(kind string, it SyncItem, now time.Time) func(context.Context) error {
	return func(ctx context.Context) error {
		var ttl time.Duration
		if !it.DateExpires.IsZero() {
			if ttl = it.DateExpires.Sub(now); ttl < time.Second {
				return ignoreNotFound(m.tw.DeleteSyncMapItem(ctx, kind, it.Key)) // expired meanwhile
			}
		}
		if err := m.tw.CreateSyncMapItem(ctx, claimShard(kind, it.Key), it.Key, rawJSON(it.Data), ttl); err != nil && !isConflict(err) {
			return err
		}
		return ignoreNotFound(m.tw.DeleteSyncMapItem(ctx, kind, it.Key))
	}
}
