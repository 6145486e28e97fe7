package syncapi

import (
	"net/http"
	"sort"
	"time"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

// Sync's per-object limits (https://www.twilio.com/docs/sync/limits): each
// top-level object (Document, Map, List) takes up to 20 reads/s and 20
// writes/s, with a 10-second burst window; an item operation counts toward
// its Map. Past them Sync answers 429 with code 54009
// (https://www.twilio.com/docs/api/errors/54009).
//
// "20/s with a 10 s burst window" is read as: at most 200 operations of a
// kind in any 10 seconds. That allows a burst of 200 and 20/s sustained, and
// is stricter than a token bucket of 200 refilled at 20/s (which admits up
// to 400 in one window) — the emulator takes the stricter reading.
//
// Rates are measured in real time, not on the virtual clock: tests jump the
// virtual clock by minutes and otherwise hold it still, so on it every call
// of a test would fall in the same instant (throttled after 200, forever) or
// in none (a jump empties every window). What Twilio limits is how fast the
// service really calls, so that is what is measured.
const (
	syncRatePerSecond = 20
	syncBurstWindow   = 10 * time.Second
	syncWindowOps     = syncRatePerSecond * int(syncBurstWindow/time.Second)
	codeRateLimited   = 54009
)

// opWindow remembers the times of the last syncWindowOps admitted
// operations of one kind on one object: a ring, so admission is O(1).
type opWindow struct {
	at        [syncWindowOps]time.Time
	next, n   int
	throttled int
	peak      int // most operations seen in one window
}

// admit records an operation at now unless the window is full.
func (w *opWindow) admit(now time.Time) bool {
	if w.n == syncWindowOps && now.Sub(w.at[w.next]) < syncBurstWindow {
		w.throttled++
		return false
	}
	w.record(now)
	return true
}

// record counts an operation at now whatever the window holds: the oldest
// is forgotten, so with limits off the rates are still measured.
func (w *opWindow) record(now time.Time) {
	w.at[w.next] = now
	w.next = (w.next + 1) % syncWindowOps
	w.n = min(w.n+1, syncWindowOps)
	w.peak = max(w.peak, w.since(now.Add(-syncBurstWindow)))
}

// since counts the admitted operations after t.
func (w *opWindow) since(t time.Time) int {
	c := 0
	for i := range w.n {
		if w.at[i].After(t) {
			c++
		}
	}
	return c
}

// objectUsage is one top-level object's reads and writes.
type objectUsage struct {
	kind, sid, uniqueName, serviceSid string
	reads, writes                     opWindow
}

// limiter holds every live object's usage. It runs under the world lock.
type limiter struct {
	now     func() time.Time // real time; tests may replace it
	objects map[string]*objectUsage
}

func newLimiter() *limiter {
	return &limiter{now: time.Now, objects: make(map[string]*objectUsage)}
}

// charge counts one operation on m (a read for GET, a write otherwise) and
// returns Twilio's 429 / 54009 when the object is over its limit.
func (s *Store) charge(r *http.Request, m *syncMap) *core.Error {
	u := s.limits.objects[m.sid]
	if u == nil {
		u = &objectUsage{kind: "map", sid: m.sid, uniqueName: m.uniqueName, serviceSid: m.svc.sid}
		s.limits.objects[m.sid] = u
	}
	w, kind := &u.writes, "writes"
	if r.Method == http.MethodGet {
		w, kind = &u.reads, "reads"
	}
	if !s.env.Behaviour.SyncRateLimits {
		w.record(s.limits.now()) // still measured, never refused
		return nil
	}
	if !w.admit(s.limits.now()) {
		return core.Errf(http.StatusTooManyRequests, codeRateLimited,
			"Rate limit exceeded: too many %s on Sync object %s (the limit is %d/s per object with a %s burst window)",
			kind, m.sid, syncRatePerSecond, syncBurstWindow)
	}
	return nil
}

// forget drops a removed object's usage: a new object of the same name is a
// new object to Sync.
func (l *limiter) forget(sid string) { delete(l.objects, sid) }

// ObjectUsage is one object's line in GET /emulator/sync/usage.
type ObjectUsage struct {
	Kind       string `json:"kind"`
	ServiceSid string `json:"serviceSid"`
	Sid        string `json:"sid"`
	UniqueName string `json:"uniqueName,omitempty"`
	// ReadsPerSecond and WritesPerSecond are over the last second;
	// Reads10s and Writes10s over the last burst window (the limit is 200).
	ReadsPerSecond  int `json:"readsPerSecond"`
	WritesPerSecond int `json:"writesPerSecond"`
	Reads10s        int `json:"reads10s"`
	Writes10s       int `json:"writes10s"`
	PeakReads10s    int `json:"peakReads10s"`
	PeakWrites10s   int `json:"peakWrites10s"`
	ThrottledReads  int `json:"throttledReads"`
	ThrottledWrites int `json:"throttledWrites"`
}

// Usage is Sync's rate-limit view for the control API, busiest first.
type Usage struct {
	Enabled bool          `json:"enabled"`
	Limit   string        `json:"limit"`
	Objects []ObjectUsage `json:"objects"`
}

// Usage reports every live object's current rates and throttled calls.
// Lock held.
func (s *Store) Usage() Usage {
	now := s.limits.now()
	out := Usage{
		Enabled: s.env.Behaviour.SyncRateLimits,
		Limit:   "20 reads/s and 20 writes/s per object, at most 200 of each in any 10 s; items count toward their Map",
		Objects: []ObjectUsage{},
	}
	for _, u := range s.limits.objects {
		out.Objects = append(out.Objects, ObjectUsage{
			Kind: u.kind, ServiceSid: u.serviceSid, Sid: u.sid, UniqueName: u.uniqueName,
			ReadsPerSecond: u.reads.since(now.Add(-time.Second)), WritesPerSecond: u.writes.since(now.Add(-time.Second)),
			Reads10s: u.reads.since(now.Add(-syncBurstWindow)), Writes10s: u.writes.since(now.Add(-syncBurstWindow)),
			PeakReads10s: u.reads.peak, PeakWrites10s: u.writes.peak,
			ThrottledReads: u.reads.throttled, ThrottledWrites: u.writes.throttled,
		})
	}
	sort.Slice(out.Objects, func(i, j int) bool {
		a, b := out.Objects[i], out.Objects[j]
		if a.PeakReads10s+a.PeakWrites10s != b.PeakReads10s+b.PeakWrites10s {
			return a.PeakReads10s+a.PeakWrites10s > b.PeakReads10s+b.PeakWrites10s
		}
		return a.Sid < b.Sid
	})
	return out
}
