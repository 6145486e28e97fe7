package webhooks

import (
	"context"
	"errors"
	"time"
)

// The records' sweep finds a close a record missed through the
// conversation's tasks, which TaskRouter lists for five minutes after they
// end; less the sweeper's grace, that is three or four sweeps. When every
// one of them fails (Twilio failing for minutes), the record would stay
// open for good. So a close the sweep finds is remembered, in
// RecordCloseMap, until the record shows it: later sweeps find it there,
// whatever TaskRouter still lists.

// RecordCloseMap remembers conversations seen closed whose record missed
// the close, keyed by conversation SID, until a sweep records it.
const RecordCloseMap = "flexhooks_record_closes"

// recordCloseTTL bounds a remembered close that no sweep could record.
const recordCloseTTL = 7 * 24 * time.Hour

// rememberedClose is a RecordCloseMap item's data: the close's time as
// the tasks showed it (their last change).
type rememberedClose struct {
	ClosedAt time.Time `json:"closedAt"`
}

// rememberClose keeps a close the sweep found, before its repair; a
// failure only leaves the next sweeps to TaskRouter's window.
func (s *recordSweep) rememberClose(ctx context.Context, run *SweepRun, csid string, tasks []TaskSummary) {
	if run.DryRun {
		return
	}
	var at time.Time
	for _, t := range tasks {
		if t.DateUpdated.After(at) {
			at = t.DateUpdated
		}
	}
	err := s.in.tw.CreateSyncMapItem(ctx, RecordCloseMap, csid, rememberedClose{ClosedAt: at}, recordCloseTTL)
	if err != nil && !isConflict(err) {
		s.in.log.WarnContext(ctx, "records sweep: a missed close could not be remembered; TaskRouter's tasks still show it for a few minutes",
			"conversationSid", csid, "err", err)
	}
}

// forgetClose drops a remembered close once the record shows it.
func (s *recordSweep) forgetClose(ctx context.Context, csid string) error {
	return ignoreNotFound(s.in.tw.DeleteSyncMapItem(ctx, RecordCloseMap, csid))
}

// sweepRemembered plans the recording of every remembered close whose
// conversation TaskRouter no longer lists (those it lists were checked
// already).
func (s *recordSweep) sweepRemembered(ctx context.Context, run *SweepRun, listed map[string][]TaskSummary) error {
	var items []SyncItem
	err := run.ScanMap(ctx, RecordCloseMap, func(it SyncItem) { items = append(items, it) })
	if err != nil && !isNotFound(err) { // nothing remembered yet
		return err
	}
	for _, it := range items {
		csid := it.Key
		var c rememberedClose
		if _, ok := listed[csid]; ok || !validSID("CH", csid) || decodeJSON(it.Data, &c) != nil {
			continue
		}
		run.Repair(ctx, Repair{
			Kind: RecordGapKind, Key: "record:" + csid, Sids: map[string]string{"conversationSid": csid},
			Detail: "the conversation closed and its record missed the close (remembered by an earlier sweep)",
			Fix:    func(ctx context.Context) error { return s.recordRemembered(ctx, csid, c.ClosedAt) },
		})
	}
	return nil
}

// recordRemembered records a remembered close (at its remembered time, or
// now when the tasks showed none) and forgets it.
func (s *recordSweep) recordRemembered(ctx context.Context, csid string, at time.Time) error {
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
	if err := s.forgetClose(ctx, csid); err != nil {
		return err
	}
	if !changed {
		return ErrRepairUnneeded
	}
	return nil
}

// closeRepaired forgets a remembered close once its repair is done.
func (s *recordSweep) closeRepaired(ctx context.Context, csid string, err error) error {
	if err != nil && !errors.Is(err, ErrRepairUnneeded) {
		return err
	}
	if ferr := s.forgetClose(ctx, csid); ferr != nil {
		return ferr
	}
	return err
}
