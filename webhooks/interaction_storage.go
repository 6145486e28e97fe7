package webhooks

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"time"
)

// Where interaction records, profiles and their indexes live in Sync.
//
// Twilio Sync allows each Map 20 reads and 20 writes a second, an operation
// on any of its items counting toward the Map
// (https://www.twilio.com/docs/sync/limits). One Map per kind of state
// would cap the whole contact centre at a couple of new conversations a
// second, so each kind is spread over many Maps (RecordShards for
// records, IndexShards for the rest) named
// "{kind}_{xx}", xx hex digits of the key the state is found by: the
// conversation SID for a record, the profile ID for a profile and its
// index entries (a profile's listing stays one range read), the task SID
// for a contact, the token digest for a client token. SIDs and profile IDs
// end in random hex, so the load spreads evenly; docs/scaling.md has the
// arithmetic.
//
// Deployments that kept records in the single Maps of earlier versions
// (InteractionRecordMap, ProfileMap, ContactMap, ProfileInteractionsMap)
// keep them readable: while such a Map holds items (checked every
// legacyRecheck), an item missing from its shard is looked for there and
// copied forward into the shard (legacy.go's fallback).

// How many Maps each kind is spread over. Records get sixteen times more
// than the rest: Sync limits objects holding items over 1 KiB harder (down
// to 2 writes/s from 10 KiB, https://www.twilio.com/docs/sync/limits), and a
// record with a few contacts, or a persistent chat's history, is past 1 KiB.
// Profiles, index entries, contacts, tokens and inactivity items are small.
const (
	RecordShards = 4096 // three hex digits
	IndexShards  = 256  // two hex digits
)

// shardDigits is how many hex digits name a kind's shard.
func shardDigits(kind string) int {
	if kind == InteractionRecordMap {
		return 3
	}
	return 2
}

// shardOf is the shard of a key, digits hex digits: its last digits when
// they are hex (every SID and profile ID), else a hash of it.
func shardOf(key string, digits int) string {
	if n := len(key); n >= digits {
		if tail := strings.ToLower(key[n-digits:]); strings.Trim(tail, "0123456789abcdef") == "" {
			return tail
		}
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return fmt.Sprintf("%0*x", digits, h.Sum32()%(1<<(4*digits)))
}

// ShardedMap is the Map of kind (a legacy single Map's name) that holds key.
func ShardedMap(kind, key string) string { return kind + "_" + shardOf(key, shardDigits(kind)) }

// ShardNames names every Map of a sharded kind: what an operator lists to
// see or remove the kind's state, and what a deployment may create ahead
// of its first use (a Map's first write otherwise creates it: two more
// calls, once).
func ShardNames(kind string) []string {
	digits := shardDigits(kind)
	out := make([]string, 0, 1<<(4*digits))
	for i := range 1 << (4 * digits) {
		out = append(out, fmt.Sprintf("%s_%0*x", kind, digits, i))
	}
	return out
}

// RecordMap is the Map holding a conversation's record.
func RecordMap(conversationSid string) string {
	return ShardedMap(InteractionRecordMap, conversationSid)
}

// ProfileMapOf is the Map holding a profile.
func ProfileMapOf(profileID string) string { return ShardedMap(ProfileMap, profileID) }

// ProfileIndexMapOf is the Map holding a profile's index entries.
func ProfileIndexMapOf(profileID string) string {
	return ShardedMap(ProfileInteractionsMap, profileID)
}

// ContactMapOf is the Map holding a contact's (a task's) index entry.
func ContactMapOf(taskSid string) string { return ShardedMap(ContactMap, taskSid) }

// legacyRecheck is how often a replica looks again whether a legacy single
// Map still holds items: deleting the legacy Maps stops the fallback reads
// within this long.
const legacyRecheck = 10 * time.Minute

// legacyMaps remembers which legacy single Maps still hold items.
type legacyMaps struct {
	mu      sync.Mutex
	checked map[string]time.Time
	present map[string]bool
}

// has reports whether the legacy Map name still holds items, asking Sync
// at most once per legacyRecheck: one list call of one item. A failed check
// counts as present, and is tried again next time: a record must not be
// opened twice because Sync failed once.
func (in *Interactions) legacyHas(ctx context.Context, name string) bool {
	l := &in.legacy
	l.mu.Lock()
	at, ok := l.checked[name]
	present := l.present[name]
	l.mu.Unlock()
	if ok && in.now().Sub(at) < legacyRecheck {
		return present
	}
	items, err := in.tw.ListSyncMapItemsAfter(ctx, name, "", 1)
	present = err != nil || len(items) > 0
	l.mu.Lock()
	if l.checked == nil {
		l.checked, l.present = map[string]time.Time{}, map[string]bool{}
	}
	if err == nil {
		l.checked[name] = in.now()
	}
	l.present[name] = present
	l.mu.Unlock()
	return present
}

// fetchSharded fetches key from its shard of kind, falling back to the
// legacy single Map kind while it holds items; an item found there is
// copied into the shard (a concurrent copy is as good) and read back from
// it, so that its revision is the shard's and the next read is one call.
func (in *Interactions) fetchSharded(ctx context.Context, kind, shard, key string) (SyncItem, error) {
	it, err := in.tw.FetchSyncMapItem(ctx, shard, key)
	if !isNotFound(err) || !in.legacyHas(ctx, kind) {
		return it, err
	}
	old, lerr := in.tw.FetchSyncMapItem(ctx, kind, key)
	if lerr != nil {
		if isNotFound(lerr) {
			return it, err // in neither: the shard's 404
		}
		return SyncItem{}, lerr
	}
	if cerr := in.tw.CreateSyncMapItem(ctx, shard, key, rawJSON(old.Data), 0); cerr != nil && !isConflict(cerr) {
		return SyncItem{}, cerr
	}
	return in.tw.FetchSyncMapItem(ctx, shard, key)
}

// rawJSON is item data passed through as it is.
type rawJSON []byte

func (r rawJSON) MarshalJSON() ([]byte, error) {
	if len(r) == 0 {
		return []byte("null"), nil
	}
	return r, nil
}
