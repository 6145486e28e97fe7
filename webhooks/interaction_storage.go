package webhooks

import (
	"context"
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
// second, so each kind is spread over RecordShards Maps named
// "{kind}_{xx}", xx two hex digits of the key the state is found by: the
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

// RecordShards is how many Maps each kind of per-conversation state is
// spread over: 256, two hex digits.
const RecordShards = 256

// shardOf is the shard of a key: its last two characters when they are hex
// digits (every SID and profile ID), else a hash of it.
func shardOf(key string) string {
	const hexdigits = "0123456789abcdef"
	if n := len(key); n >= 2 {
		a, b := strings.ToLower(key[n-2:n-1]), strings.ToLower(key[n-1:])
		if strings.Contains(hexdigits, a) && strings.Contains(hexdigits, b) {
			return a + b
		}
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	s := h.Sum32() % RecordShards
	return string([]byte{hexdigits[s>>4], hexdigits[s&15]})
}

// ShardedMap is the Map of kind (a legacy single Map's name) that holds key.
func ShardedMap(kind, key string) string { return kind + "_" + shardOf(key) }

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
