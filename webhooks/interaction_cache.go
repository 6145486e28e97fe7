package webhooks

import (
	"encoding/json"
	"hash/fnv"
	"sync"

	lru "github.com/hashicorp/golang-lru/v2"
)

// recordCache keeps the records this replica last read or wrote, with
// their Sync revisions, so that an event costs fewer Sync calls. Only
// flexhooks writes records, and a record's facts only accumulate (a fact
// once recorded stays, a time only moves earlier): what Sync holds is the
// cached copy or a record that knows more. That makes the cache safe
// across replicas for two uses, and only these:
//
//   - an event whose facts the cached copy already holds changes nothing
//     in what Sync holds either: nothing is read, nothing written (a
//     replay, an agent's second message, a close seen twice);
//   - the cached revision is a guess for If-Match: when another replica
//     wrote since, Sync refuses the write (412) and the record is read
//     again, as without a cache.
//
// The guess costs a refused write when it is wrong, so it is made only
// while it is right more often than not (see guess): one replica, or a
// load balancer that keeps a conversation's events together, makes an
// event one write; events spread over many replicas fall back to read and
// write.
//
// Hand-set fields (short description, reason note) are not facts: changes
// to them always start from a fresh read.
type recordCache struct {
	lru *lru.Cache[string, cachedRecord]

	mu          sync.Mutex
	tries, hits int
	explore     int
	locks       [recordLockStripes]sync.Mutex
}

// recordCacheSize bounds the cache: a record is a few KiB at most, and the
// conversations live on one replica at a time are far fewer.
const recordCacheSize = 4096

// recordLockStripes serialize one replica's changes to one record (by
// stripe), so that two events of a conversation arriving together do not
// both guess the same revision and one lose.
const recordLockStripes = 1024

type cachedRecord struct {
	data []byte // the record as JSON: every get decodes a copy of its own
	rev  string
}

func newRecordCache() *recordCache {
	c, _ := lru.New[string, cachedRecord](recordCacheSize) // only fails on a size ≤ 0
	return &recordCache{lru: c}
}

// get returns a copy of the cached record and its revision.
func (c *recordCache) get(csid string) (*InteractionRecord, string, bool) {
	e, ok := c.lru.Get(csid)
	if !ok {
		return nil, "", false
	}
	rec := new(InteractionRecord)
	if json.Unmarshal(e.data, rec) != nil {
		c.lru.Remove(csid)
		return nil, "", false
	}
	return rec, e.rev, true
}

// put caches rec at revision rev (no revision: forget it).
func (c *recordCache) put(csid string, rec *InteractionRecord, rev string) {
	if rec == nil || rev == "" {
		c.lru.Remove(csid)
		return
	}
	b, err := json.Marshal(rec)
	if err != nil {
		c.lru.Remove(csid)
		return
	}
	c.lru.Add(csid, cachedRecord{data: b, rev: rev})
}

// lock serializes this replica's changes to one record; it returns the
// unlock.
func (c *recordCache) lock(csid string) func() {
	h := fnv.New32a()
	_, _ = h.Write([]byte(csid))
	m := &c.locks[h.Sum32()%recordLockStripes]
	m.Lock()
	return m.Unlock
}

// guess reports whether to write with the cached revision without reading
// first: while the guesses are right at least half the time (a guess right
// costs one call, wrong three, a read-then-write two), and one time in
// eight anyway, so that a change in how events spread over replicas is
// noticed.
func (c *recordCache) guess() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tries < 16 || 2*c.hits >= c.tries {
		return true
	}
	c.explore++
	return c.explore%8 == 0
}

// guessed records whether a guessed revision was right. The tally halves
// every 512 guesses so that it follows the recent past.
func (c *recordCache) guessed(right bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tries++
	if right {
		c.hits++
	}
	if c.tries >= 512 {
		c.tries, c.hits = c.tries/2, c.hits/2
	}
}
