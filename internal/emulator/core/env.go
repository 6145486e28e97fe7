package core

import (
	"container/heap"
	"log/slog"
	"sync"
	"time"
)

// Env is the shared context of every emulated product: the world lock, the
// account's credentials, the virtual clock and the webhook outbox.
type Env struct {
	mu sync.Mutex

	AccountSID string
	AuthToken  string
	Log        *slog.Logger

	now    time.Time
	timers timerHeap
	seq    uint64

	Outbox *Outbox

	// Behaviour is read by the products with the lock held, and changed
	// only with it held (the control API).
	Behaviour Behaviour
}

// NewEnv returns an Env whose virtual clock starts at start.
func NewEnv(accountSID, authToken string, start time.Time, log *slog.Logger, outbox *Outbox) *Env {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Env{AccountSID: accountSID, AuthToken: authToken, Log: log, now: start.UTC().Truncate(time.Second), Outbox: outbox,
		Behaviour: DefaultBehaviour()}
}

// Lock takes the world lock. Only the emulator's HTTP layer calls it.
func (e *Env) Lock() { e.mu.Lock() }

// Unlock releases the world lock and hands queued webhooks to the outbox.
func (e *Env) Unlock() {
	e.mu.Unlock()
	e.Outbox.Flush()
}

// Now is the virtual time. Call it with the lock held.
func (e *Env) Now() time.Time { return e.now }

// Timer is a scheduled callback on the virtual clock.
type Timer struct {
	at      time.Time
	seq     uint64
	fn      func()
	index   int
	stopped bool
}

// At is when the timer fires.
func (t *Timer) At() time.Time { return t.at }

// Stop cancels the timer; stopping a fired or stopped timer does nothing. Lock held.
func (t *Timer) Stop() {
	if t != nil {
		t.stopped = true
	}
}

// Schedule runs fn, with the lock held, when the virtual clock reaches at.
// Timers due at the same instant fire in the order they were scheduled.
func (e *Env) Schedule(at time.Time, fn func()) *Timer {
	e.seq++
	t := &Timer{at: at, seq: e.seq, fn: fn}
	heap.Push(&e.timers, t)
	return t
}

// AdvanceTo moves the virtual clock forward to t, firing every due timer in
// time order with Now() set to its due time. Timers a callback schedules fire
// too when they fall within t. Lock held.
func (e *Env) AdvanceTo(t time.Time) {
	for len(e.timers) > 0 && !e.timers[0].at.After(t) {
		tm := heap.Pop(&e.timers).(*Timer)
		if tm.stopped {
			continue
		}
		if tm.at.After(e.now) {
			e.now = tm.at
		}
		tm.fn()
	}
	if t.After(e.now) {
		e.now = t
	}
}

// NextDue is when the next live timer is due; ok is false when none is.
// Lock held.
func (e *Env) NextDue() (at time.Time, ok bool) {
	for len(e.timers) > 0 && e.timers[0].stopped {
		heap.Pop(&e.timers)
	}
	if len(e.timers) == 0 {
		return time.Time{}, false
	}
	return e.timers[0].at, true
}

// Send queues a webhook; it is delivered once the lock is released. Lock held.
func (e *Env) Send(h Webhook) { e.Outbox.enqueue(h) }

type timerHeap []*Timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].at.Equal(h[j].at) {
		return h[i].seq < h[j].seq
	}
	return h[i].at.Before(h[j].at)
}
func (h timerHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i]; h[i].index = i; h[j].index = j }
func (h *timerHeap) Push(x any)   { t := x.(*Timer); t.index = len(*h); *h = append(*h, t) }
func (h *timerHeap) Pop() any {
	old := *h
	n := len(old)
	t := old[n-1]
	old[n-1] = nil
	*h = old[:n-1]
	return t
}
