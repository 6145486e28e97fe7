package webhooks

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"sort"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// Twilio delivers no webhook again after an error answer (docs/twilio-behaviour.md),
// so no operation may leave work for a redelivery to finish. The sweeper is
// what finds and finishes (or undoes) whatever a failed, half-done or
// crashed operation left behind. It reads only state flexhooks writes (its
// Sync claims and records) and Twilio's own state, so its cost grows with
// the work in flight, never with history.
//
// Each capability contributes SweepSteps; a step finds suspects with cheap
// reads and hands each to SweepRun.Repair, which takes a per-item lock (a
// Sync item only one replica can create), re-runs nothing itself, and counts
// and logs the outcome. A repair's Fix must re-read what it acts on after
// the lock is taken and be idempotent: two replicas sweeping at once, or a
// sweep racing a live operation, must converge on one right state.

// SweepLockMap holds the sweeper's per-item locks and its observations of
// suspects that must be seen twice before they are acted on. Only repairs
// write it, so its rate follows the number of faults, not the traffic.
const SweepLockMap = "flexhooks_sweeper"

// SweepTwilio is what the sweeper itself needs of Twilio: Sync items for
// locks and observations, and listing the maps the steps scan.
type SweepTwilio interface {
	CreateSyncMapItem(ctx context.Context, mapName, key string, data any, ttl time.Duration) error
	FetchSyncMapItem(ctx context.Context, mapName, key string) (SyncItem, error)
	PutSyncMapItem(ctx context.Context, mapName, key string, data any, ttl time.Duration) error
	DeleteSyncMapItem(ctx context.Context, mapName, key string) error
	ListSyncMapItemsAfter(ctx context.Context, mapName, from string, limit int) ([]SyncItem, error)
}

// SweepStep finds and repairs one capability's stuck work.
type SweepStep interface {
	// Name labels the step in logs and the report ("parks", "transfers"…).
	Name() string
	// Sweep scans and calls run.Repair for each item that needs it. An
	// error ends this step only; the other steps still run.
	Sweep(ctx context.Context, run *SweepRun) error
}

// SweepMetrics counts repairs by kind: flexhooks_repairs_total and
// flexhooks_repair_failures_total (internal/app).
type SweepMetrics interface {
	Repaired(kind string)
	RepairFailed(kind string)
}

// SweepConfig tunes the sweeper.
type SweepConfig struct {
	// LockTTL is how long a repair's lock item lives. It is not deleted when
	// the repair ends: another replica whose scan read the state before the
	// repair must not repair it a second time. Default 2 minutes.
	LockTTL time.Duration
	// Grace is how long a suspect must have been seen before a repair that
	// could race a live operation is made (a missing unpark webhook looks
	// the same while an unpark is routing and after one was lost). Default
	// 2 minutes, above any request's deadline.
	Grace time.Duration
	// Replica names this process in lock items, for whoever reads them.
	Replica string
}

// Sweeper runs the steps.
type Sweeper struct {
	tw      SweepTwilio
	steps   []SweepStep
	cfg     SweepConfig
	metrics SweepMetrics
	log     *slog.Logger
	now     func() time.Time
}

// NewSweeper returns a sweeper over steps. metrics and log may be nil; now
// nil is the wall clock.
func NewSweeper(tw SweepTwilio, cfg SweepConfig, metrics SweepMetrics, log *slog.Logger, now func() time.Time, steps ...SweepStep) *Sweeper {
	if cfg.LockTTL <= 0 {
		cfg.LockTTL = 2 * time.Minute
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 2 * time.Minute
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Sweeper{tw: tw, steps: steps, cfg: cfg, metrics: metrics, log: log, now: now}
}

// SweepReport is what one sweep found and did.
type SweepReport struct {
	DryRun  bool          `json:"dryRun"`
	Started time.Time     `json:"started"`
	Repairs []RepairEntry `json:"repairs"`
	// StepErrors are steps that could not finish their scan (Twilio failed);
	// the next sweep tries again.
	StepErrors map[string]string `json:"stepErrors,omitempty"`
}

// RepairEntry is one repair, planned (dry run) or made.
type RepairEntry struct {
	Kind   string            `json:"kind"`
	Key    string            `json:"key"`
	Sids   map[string]string `json:"sids,omitempty"`
	Detail string            `json:"detail,omitempty"`
	// Outcome is planned (dry run), repaired, failed (Error says why),
	// locked (another replica holds the item) or unneeded (the re-read
	// found nothing to do).
	Outcome string `json:"outcome"`
	Error   string `json:"error,omitempty"`
}

// Repair outcomes.
const (
	OutcomePlanned  = "planned"
	OutcomeRepaired = "repaired"
	OutcomeFailed   = "failed"
	OutcomeLocked   = "locked"
	OutcomeUnneeded = "unneeded"
)

// ErrRepairUnneeded is what a Fix returns when its re-read finds the item
// already right: a live operation or another replica got there first.
var ErrRepairUnneeded = errors.New("nothing to repair")

// Repair is one suspect a step found.
type Repair struct {
	// Kind names what was wrong, as counted: "park_webhook_missing"…
	Kind string
	// Key is what the lock is taken on with Kind: the conversation SID,
	// usually, so that one repair of a conversation is made by one replica.
	Key string
	// Lock, when set, replaces Kind in the lock's name: repairs that act
	// on one state (a park: its key, its webhook, its unpark) share it, so
	// that two replicas that scanned a moment apart, one of them
	// mid-repair, do not both act on it.
	Lock string
	// Sids go on the log line and in the report.
	Sids map[string]string
	// Detail says what was found, for the report.
	Detail string
	// Fix re-reads and repairs; ErrRepairUnneeded when nothing was left to do.
	Fix func(ctx context.Context) error
}

// SweepRun is one sweep in progress: what steps call back into.
type SweepRun struct {
	s      *Sweeper
	DryRun bool
	// Now is the sweep's time, fixed at its start.
	Now time.Time

	mu     sync.Mutex
	report SweepReport
	locks  map[string]bool // lock items this run holds: its repairs may share them
}

// Sweep runs every step once and returns what it found and did. Steps run
// one after another, so that a sweep's load on Twilio stays that of one
// scan at a time.
func (s *Sweeper) Sweep(ctx context.Context, dryRun bool) SweepReport {
	run := &SweepRun{s: s, DryRun: dryRun, Now: s.now().UTC(), locks: map[string]bool{}}
	run.report = SweepReport{DryRun: dryRun, Started: run.Now, Repairs: []RepairEntry{}}
	for _, step := range s.steps {
		if err := step.Sweep(ctx, run); err != nil {
			s.log.WarnContext(ctx, "sweep: a step could not finish its scan; the next sweep tries again", "step", step.Name(), "err", err)
			run.mu.Lock()
			if run.report.StepErrors == nil {
				run.report.StepErrors = map[string]string{}
			}
			run.report.StepErrors[step.Name()] = err.Error()
			run.mu.Unlock()
		}
	}
	sort.SliceStable(run.report.Repairs, func(i, j int) bool { return run.report.Repairs[i].Kind < run.report.Repairs[j].Kind })
	return run.report
}

// Repair locks the item, runs the fix, and records, logs and counts the
// outcome. In a dry run it only records the plan.
func (r *SweepRun) Repair(ctx context.Context, rp Repair) {
	entry := RepairEntry{Kind: rp.Kind, Key: rp.Key, Sids: rp.Sids, Detail: rp.Detail}
	defer func() {
		r.mu.Lock()
		r.report.Repairs = append(r.report.Repairs, entry)
		r.mu.Unlock()
	}()
	if r.DryRun {
		entry.Outcome = OutcomePlanned
		return
	}
	s := r.s
	lock := map[string]any{"kind": rp.Kind, "replica": s.cfg.Replica, "at": r.Now}
	// One lock per kind (or Lock) and item. A run that holds it may repair
	// the item again: one conversation's park key, then its webhook.
	name := "lock:" + cmp.Or(rp.Lock, rp.Kind) + ":" + rp.Key
	r.mu.Lock()
	held := r.locks[name]
	r.mu.Unlock()
	if !held {
		if err := s.tw.CreateSyncMapItem(ctx, SweepLockMap, name, lock, s.cfg.LockTTL); err != nil {
			if isConflict(err) {
				entry.Outcome = OutcomeLocked
				return
			}
			entry.Outcome, entry.Error = OutcomeFailed, "lock: "+err.Error()
			s.failed(ctx, rp, err)
			return
		}
		r.mu.Lock()
		r.locks[name] = true
		r.mu.Unlock()
	}
	switch err := rp.Fix(ctx); {
	case err == nil:
		entry.Outcome = OutcomeRepaired
		if s.metrics != nil {
			s.metrics.Repaired(rp.Kind)
		}
		s.log.InfoContext(ctx, "sweep: repaired", append([]any{"kind", rp.Kind, "detail", rp.Detail}, sidArgs(rp.Sids)...)...)
	case errors.Is(err, ErrRepairUnneeded):
		entry.Outcome = OutcomeUnneeded
	default:
		entry.Outcome, entry.Error = OutcomeFailed, err.Error()
		s.failed(ctx, rp, err)
	}
}

func (s *Sweeper) failed(ctx context.Context, rp Repair, err error) {
	if s.metrics != nil {
		s.metrics.RepairFailed(rp.Kind)
	}
	s.log.ErrorContext(ctx, "sweep: repair failed; the next sweep tries again", append([]any{"kind", rp.Kind, "err", err}, sidArgs(rp.Sids)...)...)
}

func sidArgs(sids map[string]string) []any {
	keys := make([]string, 0, len(sids))
	for k := range sids {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]any, 0, 2*len(keys))
	for _, k := range keys {
		out = append(out, k, sids[k])
	}
	return out
}

// SeenFor records that a suspect (kind, key) was seen now, and reports for
// how long it has been seen without a break: zero on the first sighting.
// A step acts on a suspect that could be a live operation only once it has
// been seen for the grace period. A suspect that goes away is forgotten by
// Forget (or by the observation's TTL).
func (r *SweepRun) SeenFor(ctx context.Context, kind, key string) (time.Duration, error) {
	s := r.s
	name := "seen:" + kind + ":" + key
	item, err := s.tw.FetchSyncMapItem(ctx, SweepLockMap, name)
	switch {
	case isNotFound(err):
		if r.DryRun {
			return 0, nil
		}
		// The observation outlives a few sweeps, not forever: a suspect
		// last seen long ago starts afresh.
		err := s.tw.CreateSyncMapItem(ctx, SweepLockMap, name, map[string]any{"since": r.Now}, 4*s.cfg.Grace+time.Hour)
		if err != nil && !isConflict(err) {
			return 0, err
		}
		return 0, nil
	case err != nil:
		return 0, err
	}
	var seen struct {
		Since time.Time `json:"since"`
	}
	if decodeJSON(item.Data, &seen) != nil || seen.Since.IsZero() {
		seen.Since = item.DateCreated
	}
	return r.Now.Sub(seen.Since), nil
}

// Grace is how long a suspect that could be a live operation must have
// been seen before it is repaired.
func (r *SweepRun) Grace() time.Duration { return r.s.cfg.Grace }

// Forget drops a suspect's observation after its repair.
func (r *SweepRun) Forget(ctx context.Context, kind, key string) {
	if r.DryRun {
		return
	}
	_ = r.s.tw.DeleteSyncMapItem(ctx, SweepLockMap, "seen:"+kind+":"+key)
}

// ScanMaps calls fn for every item of the Sync maps names, one call at a
// time. The maps are listed side by side, sweepConcurrency at a time: a
// kind of state spread over many Maps (256 inactivity-claim shards) read
// one after another would take a sweep 25 s at 100 ms a call; each list is
// on its own Map, so Sync's per-Map rate holds. Every map is scanned even
// when one fails; the error joins their failures.
func (r *SweepRun) ScanMaps(ctx context.Context, names []string, fn func(mapName string, it SyncItem)) error {
	var mu sync.Mutex
	errs := make([]error, len(names))
	var g errgroup.Group
	g.SetLimit(sweepConcurrency)
	for i, name := range names {
		g.Go(func() error {
			var items []SyncItem
			errs[i] = ignoreNotFound(r.ScanMap(ctx, name, func(it SyncItem) { items = append(items, it) })) // a shard nobody wrote yet
			mu.Lock()
			defer mu.Unlock()
			for _, it := range items {
				fn(name, it)
			}
			return nil
		})
	}
	_ = g.Wait()
	return errors.Join(errs...)
}

// ScanMap calls fn for every item of a Sync map, a page of 100 at a time.
func (r *SweepRun) ScanMap(ctx context.Context, mapName string, fn func(SyncItem)) error {
	from := ""
	for {
		items, err := r.s.tw.ListSyncMapItemsAfter(ctx, mapName, from, 100)
		if err != nil {
			return err
		}
		for _, it := range items {
			fn(it)
		}
		if len(items) < 100 {
			return nil
		}
		from = items[len(items)-1].Key
	}
}
