package webhooks

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"
)

// What the records' sweep remembers.
//
// The sweep finds a fact a record missed through the conversation's
// tasks, which TaskRouter lists for five minutes after they end; less the
// sweeper's grace, that is three or four sweeps. When every one of them
// fails (Twilio failing for minutes), an ended task's end and the
// conversation's close would be lost for good: the record would stay in
// Work in Progress or On Hold. So a gap the sweep finds on an ended task
// or a closed conversation is written down, in RecordGapMap, before its
// repair, and forgotten once the record shows it: later sweeps find it
// there whatever TaskRouter still lists. A gap on a live task needs no
// memory: TaskRouter lists a live task until it ends.
//
// A task event whose record write failed on a task's end writes the end
// down there too (rememberEnd): the sweep may fail to find it in time.
// Items are keyed by the conversation SID for a missed close, by the task
// SID for a missed task end, spread over 16 Maps by the key's last hex
// digit: when Sync fails for a whole contact centre, every task end may
// write a gap, and one Map allows 20 writes a second. The Maps hold only
// gaps not yet recorded, so their size follows the faults of the last
// minutes, not history; remembered gaps no sweep could record expire
// after recordGapTTL.

// RecordGapMap remembers what the records' sweep found a record missing,
// where TaskRouter may soon forget it, until a sweep records it: the kind
// of RecordGapMaps' shards.
const RecordGapMap = "flexhooks_record_gaps"

// RecordGapMaps are every shard remembered gaps live in.
func RecordGapMaps() []string { return claimShards(RecordGapMap) }

// recordGapMapOf is the shard of a gap's key.
func recordGapMapOf(key string) string { return claimShard(RecordGapMap, key) }

// recordGapTTL bounds a remembered gap that no sweep could record.
const recordGapTTL = 7 * 24 * time.Hour

// rememberedClose is a RecordGapMap item keyed by a conversation SID: the
// close's time as the tasks showed it (their last change).
type rememberedClose struct {
	ClosedAt time.Time `json:"closedAt"`
}

// rememberedTask is a RecordGapMap item keyed by a task SID: what
// TaskRouter's list showed of the ended task. Not who accepted it: the
// list does not say, and reading the reservations of every ended task for
// a gap that is rarely there would cost more than the accept is worth
// (the record then shows the task ended, not worked).
type rememberedTask struct {
	ConversationSid string    `json:"conversationSid"`
	Reason          string    `json:"reason,omitempty"`
	CreatedAt       time.Time `json:"createdAt"`
	QueueSid        string    `json:"queueSid,omitempty"`
	QueueName       string    `json:"queueName,omitempty"`
	EndedAt         time.Time `json:"endedAt"`
	EndStatus       string    `json:"endStatus"`
	EndReason       string    `json:"endReason,omitempty"`
}

// endedTaskFacts is what TaskRouter's list shows of an ended task.
func endedTaskFacts(csid string, t TaskSummary) rememberedTask {
	return rememberedTask{
		ConversationSid: csid, Reason: contactReason(t.Attributes), CreatedAt: t.DateCreated,
		QueueSid: t.QueueSid, QueueName: t.QueueName,
		EndedAt: t.DateUpdated, EndStatus: t.AssignmentStatus, EndReason: t.Reason,
	}
}

func (r rememberedTask) facts(sid string) taskFacts {
	return taskFacts{
		Sid: sid, Reason: r.Reason, CreatedAt: r.CreatedAt, QueueSid: r.QueueSid, QueueName: r.QueueName,
		EndedAt: r.EndedAt, EndStatus: r.EndStatus, EndReason: r.EndReason,
	}
}

// remember writes a gap down before its repair (key: the conversation or
// the task SID).
func (s *recordSweep) remember(ctx context.Context, run *SweepRun, key string, gap any) {
	if !run.DryRun {
		s.in.rememberGap(ctx, key, gap)
	}
}

// rememberGap writes a gap down, trying a failed write three times (a
// create keyed by the gap: a replay finds it there); a failure only leaves
// it to TaskRouter's window. A gap remembered already stays as it was
// first seen.
func (in *Interactions) rememberGap(ctx context.Context, key string, gap any) {
	err := retryFailed(ctx, func() error {
		return ignoreConflict(in.tw.CreateSyncMapItem(ctx, recordGapMapOf(key), key, gap, recordGapTTL))
	})
	if err != nil {
		in.log.WarnContext(ctx, "interaction record gap could not be remembered; TaskRouter still shows it for a few minutes",
			"key", key, "err", err)
	}
}

// rememberEnd is a task event's memory of the end its record write
// missed: the sweep's finding of it has to fall inside TaskRouter's window,
// on sweeps Twilio may fail as it failed this write, so the handler writes
// it down too (a Sync write apart from the record's, failing on its own).
func (in *Interactions) rememberEnd(ctx context.Context, csid string, f taskFacts) {
	in.rememberGap(ctx, f.Sid, rememberedTask{
		ConversationSid: csid, Reason: f.Reason, CreatedAt: f.CreatedAt, QueueSid: f.QueueSid, QueueName: f.QueueName,
		EndedAt: f.EndedAt, EndStatus: f.EndStatus, EndReason: f.EndReason,
	})
}

// rememberClose remembers a close the record missed, at the tasks' last
// change.
func (s *recordSweep) rememberClose(ctx context.Context, run *SweepRun, csid string, tasks []TaskSummary) {
	var at time.Time
	for _, t := range tasks {
		if t.DateUpdated.After(at) {
			at = t.DateUpdated
		}
	}
	s.remember(ctx, run, csid, rememberedClose{ClosedAt: at})
}

// forgetRepaired forgets the remembered gaps keys once their repair is
// done (or found nothing left to do); err is the repair's.
func (s *recordSweep) forgetRepaired(ctx context.Context, keys []string, err error) error {
	if err != nil && !errors.Is(err, ErrRepairUnneeded) {
		return err
	}
	for _, key := range keys {
		if ferr := ignoreNotFound(s.in.tw.DeleteSyncMapItem(ctx, recordGapMapOf(key), key)); ferr != nil {
			return ferr
		}
	}
	return err
}

// rememberedGaps are a conversation's remembered gaps.
type rememberedGaps struct {
	close *rememberedClose
	tasks map[string]taskFacts
	keys  []string // their items
}

// sweepRemembered plans, per conversation, the recording of the
// remembered gaps TaskRouter no longer shows: a close whose conversation
// has no task listed, the end of a task not listed (those listed were
// checked already).
func (s *recordSweep) sweepRemembered(ctx context.Context, run *SweepRun, listed map[string][]TaskSummary) error {
	var items []SyncItem
	if err := run.ScanMaps(ctx, RecordGapMaps(), func(_ string, it SyncItem) { items = append(items, it) }); err != nil {
		return err
	}
	listedTasks := map[string]bool{}
	for _, tasks := range listed {
		for _, t := range tasks {
			listedTasks[t.Sid] = true
		}
	}
	byConv := map[string]*rememberedGaps{}
	gapsOf := func(csid string) *rememberedGaps {
		if byConv[csid] == nil {
			byConv[csid] = &rememberedGaps{tasks: map[string]taskFacts{}}
		}
		return byConv[csid]
	}
	for _, it := range items {
		var c rememberedClose
		var r rememberedTask
		switch {
		case validSID("CH", it.Key) && listed[it.Key] == nil && decodeJSON(it.Data, &c) == nil:
			g := gapsOf(it.Key)
			g.close, g.keys = &c, append(g.keys, it.Key)
		case validSID("WT", it.Key) && !listedTasks[it.Key] && decodeJSON(it.Data, &r) == nil && validSID("CH", r.ConversationSid):
			g := gapsOf(r.ConversationSid)
			g.tasks[it.Key], g.keys = r.facts(it.Key), append(g.keys, it.Key)
		}
	}
	for _, csid := range slices.Sorted(maps.Keys(byConv)) {
		s.planRemembered(ctx, run, csid, byConv[csid])
	}
	return nil
}

// planRemembered plans the recording of a conversation's remembered gaps.
func (s *recordSweep) planRemembered(ctx context.Context, run *SweepRun, csid string, g *rememberedGaps) {
	sids := map[string]string{"conversationSid": csid}
	var missed []string
	taskSids := slices.Sorted(maps.Keys(g.tasks))
	for _, sid := range taskSids {
		missed = append(missed, "the end of "+sid)
		sids["taskSid"] = sid
	}
	if len(taskSids) > 1 {
		delete(sids, "taskSid")
	}
	if g.close != nil {
		missed = append(missed, "the conversation's close")
	}
	run.Repair(ctx, Repair{
		Kind: RecordGapKind, Key: "record:" + csid, Sids: sids,
		Detail: "the record missed what was written down for it earlier: " + joinShort(missed),
		Fix: func(ctx context.Context) error {
			errs := [2]error{ErrRepairUnneeded, ErrRepairUnneeded}
			if len(taskSids) > 0 {
				// The close may have been lost with the end, and TaskRouter
				// no longer shows the tasks it would be found by: when
				// Conversations shows it closed, it is recorded at the last
				// remembered end.
				errs[0] = s.in.catchUpTasks(ctx, s.in.cfg.WorkspaceSid, csid, taskSids, g.close == nil, g.tasks)
			}
			if g.close != nil {
				errs[1] = s.recordRememberedClose(ctx, csid, g.close.ClosedAt)
			}
			return s.forgetRepaired(ctx, g.keys, bothRepairs(errs[0], errs[1]))
		},
	})
}

// bothRepairs is the outcome of two repairs of one item, each nil (it
// changed something), ErrRepairUnneeded or its failure. No record to add
// to (a record is never deleted but by its TTL) leaves nothing to do.
func bothRepairs(a, b error) error {
	if isNotFound(a) {
		a = ErrRepairUnneeded
	}
	for _, err := range []error{a, b} {
		if err != nil && !errors.Is(err, ErrRepairUnneeded) {
			return err
		}
	}
	if a == nil || b == nil {
		return nil
	}
	return ErrRepairUnneeded
}

// recordRememberedClose records a remembered close (at its remembered
// time, or now when the tasks showed none).
func (s *recordSweep) recordRememberedClose(ctx context.Context, csid string, at time.Time) error {
	if at.IsZero() {
		at = s.in.now().UTC()
	}
	var changed bool
	_, err := s.in.update(ctx, csid, nil, func(r *InteractionRecord) bool {
		changed = r.ClosedAt.IsZero() && r.recordClosed(at)
		return changed
	})
	if err != nil && !isNotFound(err) {
		return err
	}
	if !changed {
		return ErrRepairUnneeded
	}
	return nil
}
