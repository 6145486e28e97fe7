package webhooks

import (
	"context"
	"errors"
	"slices"
	"sort"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/errgroup"
)

// The records' sweep: interaction records that never caught up.
//
// A record misses a fact when the Sync write of the event that carried it
// failed. The handler answered 2xx anyway (a record must never fail what it
// observes), so Twilio sends nothing again, and when every event of a task
// hit a gap no later event of the conversation speaks of that task: the
// record never opens, or stays in Work in Progress after a park, for good.
//
// Where the suspects come from. Not from the records: enumerating them
// grows with history (4096 shards of every conversation ever recorded),
// and a mark the handlers would write for the sweep ("record dirty") can
// fail exactly as the record write did. Instead from Twilio's own set of
// work in flight: the tasks TaskRouter holds, one list of up to 1000 tasks
// a page. That set is every live task (pending, reserved, assigned,
// wrapping) plus every task that ended in the last five minutes (TaskRouter
// deletes an ended task five minutes after its end, docs/twilio-behaviour.md),
// so its size follows the contact centre's load, not its past, and it
// carries the facts a record is built from: the creation, the queue, the
// status and when it last changed; the reservations say who accepted it.
// Each task's record is read (one Sync read, spread over the record
// shards) and compared; only a record missing a fact is repaired.
//
// What it gives up: an end is found only while TaskRouter still holds the
// ended task, so one sweep must list it and read its record in those five
// minutes (SWEEP_INTERVAL's default is one minute); once found, it is
// remembered until recorded. A task that ended while no sweep succeeded
// for five minutes is still caught up by its conversation's next task
// (OnTaskEvent's catchUp). A conversation closed with no task live
// (a parked one closed by the inactivity timeout) whose close event was
// lost is not found here, but by the inactivity sweep
// (inactivity_record_close.go); listing Conversations' closed
// conversations cannot be narrowed to recent closes. A close or a task's
// end found here is remembered until recorded, whatever TaskRouter lets go
// meanwhile (interaction_sweep_remembered.go).
//
// Twilio's list may leave a task's attributes out (the spec: shown only
// when one task is fetched); the conversation of such a task is then read
// from the task itself, once per task per replica (taskConversations).

// TaskReservation is a reservation of a task.
type TaskReservation struct {
	Sid        string
	Status     string // pending, accepted, rejected, timeout, canceled, rescinded, wrapping, completed
	WorkerSid  string
	WorkerName string
	// DateCreated is the offer; DateUpdated the reservation's last change
	// (its accept while it is accepted).
	DateCreated time.Time
	DateUpdated time.Time
}

// maxSweptTasks bounds one sweep's task list: far above any contact
// centre's tasks in flight, so that a runaway list cannot hold a sweep.
const maxSweptTasks = 20000

// RecordGapKind is the repair kind of a record missing facts TaskRouter has.
const RecordGapKind = "record_gap"

// recordSweep is the records' SweepStep.
type recordSweep struct {
	in *Interactions
	// taskConversations remembers the conversation of tasks whose listed
	// attributes were left out (a task never changes conversation).
	taskConversations *lru.Cache[string, string]
}

// SweepStep returns the step that catches up records with gaps.
func (in *Interactions) SweepStep() SweepStep {
	c, _ := lru.New[string, string](recordCacheSize)
	return &recordSweep{in: in, taskConversations: c}
}

func (s *recordSweep) Name() string { return "records" }

// Sweep lists the tasks TaskRouter holds, groups them by conversation and
// hands every conversation whose record misses a fact to run.Repair.
func (s *recordSweep) Sweep(ctx context.Context, run *SweepRun) error {
	ws := s.in.cfg.WorkspaceSid
	if !validSID("WS", ws) {
		return nil
	}
	tasks, err := s.in.tw.ListTasks(ctx, ws, TaskListOptions{Limit: maxSweptTasks})
	if err != nil {
		return err
	}
	// A task's conversation is in its listed attributes, or read from the
	// task (side by side: the first sweep after a start may read many).
	convOf := make([]string, len(tasks))
	errs := make([]error, 0)
	var mu sync.Mutex
	var g errgroup.Group
	g.SetLimit(recordSweepWorkers)
	for i, t := range tasks {
		g.Go(func() error {
			csid, err := s.conversationOf(ctx, ws, t)
			mu.Lock()
			defer mu.Unlock()
			convOf[i] = csid
			if err != nil {
				errs = append(errs, err)
			}
			return nil
		})
	}
	_ = g.Wait()
	byConv := map[string][]TaskSummary{}
	for i, t := range tasks {
		if validSID("CH", convOf[i]) {
			byConv[convOf[i]] = append(byConv[convOf[i]], t)
		}
	}
	csids := make([]string, 0, len(byConv))
	for csid := range byConv {
		csids = append(csids, csid)
	}
	sort.Strings(csids)
	// A fact TaskRouter shows for longer than the grace cannot be an event
	// still on its way to a handler: only those are gaps.
	settled := run.Now.Add(-run.Grace())
	var checks errgroup.Group
	checks.SetLimit(recordSweepWorkers)
	for _, csid := range csids {
		checks.Go(func() error {
			if err := s.check(ctx, run, ws, csid, byConv[csid], settled); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
			return nil
		})
	}
	_ = checks.Wait()
	errs = append(errs, s.sweepRemembered(ctx, run, byConv))
	return errors.Join(errs...)
}

// recordSweepWorkers is how many conversations are checked at once: a
// thousand conversations in flight are a thousand record reads, which one
// at a time would take longer than the sweep's interval. Each read is on
// its own record shard (4096 of them), so Sync's 20 reads/s per Map holds.
const recordSweepWorkers = 8

// conversationOf is the task's conversation SID, from its listed
// attributes, else from memory, else from the task itself.
func (s *recordSweep) conversationOf(ctx context.Context, ws string, t TaskSummary) (string, error) {
	if t.Attributes != nil {
		return stringAttr(t.Attributes, "conversationSid"), nil
	}
	if csid, ok := s.taskConversations.Get(t.Sid); ok {
		return csid, nil
	}
	full, err := s.in.tw.FetchTaskSummary(ctx, ws, t.Sid)
	if isNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	csid := stringAttr(full.Attributes, "conversationSid")
	s.taskConversations.Add(t.Sid, csid)
	return csid, nil
}

// check compares a conversation's record with its tasks and plans the
// repair of the facts it misses.
func (s *recordSweep) check(ctx context.Context, run *SweepRun, ws, csid string, tasks []TaskSummary, settled time.Time) error {
	rec, _, err := s.in.load(ctx, csid)
	switch {
	case isNotFound(err):
		rec = nil
	case err != nil:
		return err
	}
	var missing, forget []string
	remembered := map[string]taskFacts{}
	for _, t := range tasks {
		gap := missingFact(rec, t, settled)
		if gap == "" {
			continue
		}
		missing = append(missing, t.Sid+": "+gap)
		if rec != nil && endedStatus(t.AssignmentStatus) {
			// TaskRouter lets an ended task go five minutes after its end.
			facts := endedTaskFacts(csid, t)
			s.remember(ctx, run, t.Sid, facts)
			remembered[t.Sid], forget = facts.facts(t.Sid), append(forget, t.Sid)
		}
	}
	closeUnseen := false
	if (rec == nil || !rec.Closed()) && quiet(rec, tasks, settled) {
		// No task is worked any more and the record shows the conversation
		// open: a close whose event was lost, or a park (or a wrap-up
		// after an agent left). Twilio says which.
		conv, err := s.in.tw.FetchConversation(ctx, csid)
		if err != nil && !isNotFound(err) {
			return err
		}
		closeUnseen = isNotFound(err) || conv.State == "closed"
		if closeUnseen {
			missing = append(missing, "the conversation's close")
			s.rememberClose(ctx, run, csid, tasks)
			forget = append(forget, csid)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	sids := map[string]string{"conversationSid": csid}
	taskSids := make([]string, 0, len(tasks))
	for _, t := range tasks {
		taskSids = append(taskSids, t.Sid)
	}
	if len(taskSids) == 1 {
		sids["taskSid"] = taskSids[0]
	}
	detail := "the record misses what TaskRouter shows: " + joinShort(missing)
	if rec == nil {
		detail = "no record, although TaskRouter shows its tasks: " + joinShort(missing)
	}
	run.Repair(ctx, Repair{
		// Not the conversation SID alone: other steps lock that, and a
		// record's catch-up only adds facts under If-Match, so it may run
		// beside their repairs.
		Kind: RecordGapKind, Key: "record:" + csid, Sids: sids, Detail: detail,
		Fix: func(ctx context.Context) error {
			err := s.in.catchUpTasks(ctx, ws, csid, taskSids, closeUnseen, remembered)
			return s.forgetRepaired(ctx, forget, err)
		},
	})
	return nil
}

// missingFact names the first fact of t, settled for the grace, that rec
// lacks ("" when none).
func missingFact(rec *InteractionRecord, t TaskSummary, settled time.Time) string {
	if rec == nil {
		if t.DateCreated.Before(settled) {
			return "the task (no record)"
		}
		return ""
	}
	i := slices.IndexFunc(rec.Tasks, func(rt RecordTask) bool { return rt.Sid == t.Sid })
	switch {
	case i < 0 && t.DateCreated.Before(settled):
		return "the task"
	case i < 0:
		return ""
	}
	rt := rec.Tasks[i]
	changed := t.DateUpdated.Before(settled)
	switch {
	case rt.CreatedAt.IsZero() && t.DateCreated.Before(settled):
		return "its creation"
	case rt.AcceptedAt.IsZero() && acceptedStatus(t.AssignmentStatus) && changed:
		return "its accept"
	case rt.EndedAt.IsZero() && endedStatus(t.AssignmentStatus) && changed:
		return "its end"
	}
	return ""
}

// quiet reports whether every task listed ended or went to wrap-up (what
// closing the interaction channel does to them) before settled, and the
// record shows no other task live: then, and only then, the conversation
// may have closed unseen, and it is worth asking Conversations.
func quiet(rec *InteractionRecord, tasks []TaskSummary, settled time.Time) bool {
	listed := map[string]bool{}
	for _, t := range tasks {
		if !quietStatus(t.AssignmentStatus) || !t.DateUpdated.Before(settled) {
			return false
		}
		listed[t.Sid] = true
	}
	if rec == nil {
		return true
	}
	for _, rt := range rec.Tasks {
		if rt.EndedAt.IsZero() && !listed[rt.Sid] {
			return false
		}
	}
	return true
}

func quietStatus(s string) bool { return s == "wrapping" || endedStatus(s) }

func acceptedStatus(s string) bool { return s == "assigned" || s == "wrapping" || s == "completed" }
func endedStatus(s string) bool    { return s == "completed" || s == "canceled" }

func joinShort(parts []string) string {
	const most = 4
	out := ""
	for i, p := range parts {
		if i == most {
			return out + "…"
		}
		if i > 0 {
			out += "; "
		}
		out += p
	}
	return out
}

// catchUpTasks re-reads the tasks from TaskRouter (status, dates,
// attributes, who accepted each) and records every fact they show,
// opening the record (its number, profile and the customer's history
// entry) when there is none: the repair of a record gap. Facts only
// accumulate and the write is conditional (If-Match), so it is idempotent
// and safe beside live events and another replica's sweep. closed: the
// conversation was seen closed with all its tasks ended; it is read again.
// remembered: what an earlier read showed of ended tasks, recorded for
// those TaskRouter has let go since.
func (in *Interactions) catchUpTasks(ctx context.Context, ws, csid string, taskSids []string, closed bool, remembered map[string]taskFacts) error {
	facts := make([]*taskFacts, len(taskSids))
	opens := make([]*openFacts, len(taskSids))
	quietAt := make([]time.Time, len(taskSids))
	errs := make([]error, len(taskSids)+1)
	fns := make([]func(), 0, len(taskSids)+1)
	for i, sid := range taskSids {
		fns = append(fns, func() { facts[i], opens[i], quietAt[i], errs[i] = in.taskRouterFacts(ctx, ws, sid) })
	}
	if closed {
		fns = append(fns, func() {
			conv, err := in.tw.FetchConversation(ctx, csid)
			closed = isNotFound(err) || err == nil && conv.State == "closed"
			errs[len(taskSids)] = ignoreNotFound(err)
		})
	}
	parallel(fns...)
	if err := errors.Join(errs...); err != nil {
		return err
	}
	var open *openFacts
	var known []taskFacts
	var closedAt time.Time
	for i, f := range facts {
		if r, ok := remembered[taskSids[i]]; f == nil && ok {
			f, quietAt[i] = &r, r.EndedAt // gone from TaskRouter: what it showed before
		}
		if f == nil {
			continue // gone from TaskRouter meanwhile: nothing more to learn
		}
		known = append(known, *f)
		if open == nil {
			open = opens[i]
		}
		if quietAt[i].After(closedAt) {
			closedAt = quietAt[i]
		}
	}
	if len(known) == 0 {
		return ErrRepairUnneeded
	}
	var changed bool
	rec, err := in.update(ctx, csid, open, func(r *InteractionRecord) bool {
		changed = false
		for _, f := range known {
			changed = r.recordTask(gapsOnly(r, f)) || changed
		}
		// Closing the channel moves its tasks to wrap-up or ends them:
		// the close came with the last of those changes, so the record is
		// closed by then.
		if closed && !closedAt.IsZero() && r.ClosedAt.IsZero() {
			changed = r.recordClosed(closedAt) || changed
		}
		return changed
	})
	if err != nil {
		return err
	}
	if rec != nil && rec.opened {
		changed = true
	}
	for _, f := range known {
		if err := in.indexContact(ctx, f.Sid, csid); err != nil {
			return err
		}
	}
	if !changed {
		return ErrRepairUnneeded
	}
	return nil
}

// gapsOnly keeps of f only the facts the record's task lacks: TaskRouter
// gives times to the second, and an accept read from a reservation that
// has moved on is a bound, so a fact an event recorded stands as it is.
func gapsOnly(r *InteractionRecord, f taskFacts) taskFacts {
	i := slices.IndexFunc(r.Tasks, func(t RecordTask) bool { return t.Sid == f.Sid })
	if i < 0 {
		return f
	}
	t := r.Tasks[i]
	if !t.CreatedAt.IsZero() {
		f.CreatedAt = time.Time{}
	}
	if !t.AcceptedAt.IsZero() {
		f.AcceptedAt, f.WorkerSid, f.WorkerName = time.Time{}, "", ""
	}
	if !t.EndedAt.IsZero() {
		f.EndedAt, f.EndStatus, f.EndReason = time.Time{}, "", ""
	}
	return f
}

// taskRouterFacts reads what TaskRouter shows of a task: its facts and
// what a record is opened with, and when it left its agent (went to
// wrap-up or ended; zero while worked). Nil facts when TaskRouter no
// longer has it.
//
// The accept: a reservation still accepted was accepted when it last
// changed. One that has moved on (wrapping, completed) no longer says when
// it was accepted, only that it was, between its offer and its last
// change: the offer is recorded, the earliest the accept can have been
// (the wait time is then a lower bound, the duration an upper one).
func (in *Interactions) taskRouterFacts(ctx context.Context, ws, sid string) (*taskFacts, *openFacts, time.Time, error) {
	t, err := in.tw.FetchTaskSummary(ctx, ws, sid)
	if isNotFound(err) {
		return nil, nil, time.Time{}, nil
	}
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	var quietAt time.Time
	if quietStatus(t.AssignmentStatus) {
		quietAt = t.DateUpdated
	}
	attrs := t.Attributes
	f := &taskFacts{Sid: sid, Reason: contactReason(attrs), CreatedAt: t.DateCreated, QueueSid: t.QueueSid, QueueName: t.QueueName}
	if endedStatus(t.AssignmentStatus) && !t.DateUpdated.IsZero() {
		f.EndedAt, f.EndStatus, f.EndReason = t.DateUpdated, t.AssignmentStatus, t.Reason
	}
	if acceptedStatus(t.AssignmentStatus) || endedStatus(t.AssignmentStatus) {
		rs, err := in.tw.ListTaskReservations(ctx, ws, sid)
		if err != nil && !isNotFound(err) {
			return nil, nil, time.Time{}, err
		}
		for _, r := range rs {
			var at time.Time
			switch r.Status {
			case "accepted":
				at = r.DateUpdated
			case "wrapping", "completed":
				at = r.DateCreated
			default:
				continue
			}
			if earlier(at, f.AcceptedAt) {
				f.AcceptedAt, f.WorkerSid, f.WorkerName = at, r.WorkerSid, r.WorkerName
			}
		}
	}
	open := &openFacts{
		InteractionSid:  stringAttr(attrs, "flexInteractionSid"),
		ChannelSid:      stringAttr(attrs, "flexInteractionChannelSid"),
		Channel:         stringAttr(attrs, "channelType"),
		CustomerAddress: customerIdentity(attrs),
		CustomerName:    stringAttr(attrs, "customerName"),
	}
	return f, open, quietAt, nil
}
