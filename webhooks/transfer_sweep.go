package webhooks

import (
	"context"
	"errors"
	"slices"
	"sort"
)

// The transfer sweep finishes what a transfer left when an answer was lost
// or an event handler failed: Twilio delivers neither the TaskRouter event
// nor the caller's request again (docs/twilio-behaviour.md), so nothing
// else will. It starts from the transfer claims, which live from a
// transfer's start until its task is accepted or canceled: the sweep's
// cost follows the transfers in flight. Per claim it reads the channel's
// invites and the transfer task, and the channel's participants when the
// agent's removal is in question.

// Transfer repair kinds.
const (
	// The target accepted, the transfer asked for the agent's removal, and
	// the agent is still in (the accept's removal failed).
	RepairTransferAgentNotRemoved = "transfer_agent_not_removed"
	// A cold transfer's task exists and routes but the transferring agent
	// is still in: the caller got an error (the invite's answer was lost,
	// or the removal failed) and did not finish it by retrying.
	RepairTransferTaskOrphaned = "transfer_task_orphaned"
	// The transfer's task ended (accepted, canceled, gone) but its claim
	// and record were not released: the event handler failed.
	RepairTransferClaimEnded = "transfer_claim_ended"
	// A claim whose invite does not exist, seen for the sweeper's grace: a
	// transfer that failed before or at its invite and could not release.
	RepairTransferClaimOrphaned = "transfer_claim_orphaned"
	// A warm transfer's task routes but the conversation's attributes lack
	// its pending record, seen for the sweeper's grace: the transfer's
	// writes of it failed. Without it the agent cannot cancel the transfer.
	RepairTransferRecordMissing = "transfer_record_missing"
	// A warm transfer to a worker whose target declined it (or let the
	// offer time out) and whose task still routes: the decline's cancel
	// failed. No one else can take it.
	RepairTransferDeclined = "transfer_declined_uncanceled"
)

// SweepStep is what the sweeper runs for transfers.
func (t *Transfers) SweepStep() SweepStep { return transferSweep{t} }

type transferSweep struct{ t *Transfers }

func (transferSweep) Name() string { return "transfers" }

// Sweep inspects every transfer claim.
func (s transferSweep) Sweep(ctx context.Context, run *SweepRun) error {
	var claims []SyncItem
	if err := run.ScanMaps(ctx, TransferClaimMaps(), func(_ string, it SyncItem) { claims = append(claims, it) }); err != nil {
		return err
	}
	sort.Slice(claims, func(i, j int) bool { return claims[i].Key < claims[j].Key })
	var errs []error
	for _, it := range claims {
		errs = append(errs, s.inspect(ctx, run, it))
	}
	return errors.Join(errs...)
}

// transferDiagnosis is what a claim's transfer needs, if anything.
type transferDiagnosis struct {
	kind   string // a Repair* kind, "" when nothing is to do
	claim  transferClaim
	rec    *TransferRecord // the invite task's record; nil without an invite
	inv    TransferInvite
	status string // the task's assignment status; "gone" when TaskRouter no longer has it
	remove bool   // the transferring agent is to be removed
}

func (s transferSweep) inspect(ctx context.Context, run *SweepRun, it SyncItem) error {
	csid := it.Key
	d, err := s.t.diagnose(ctx, it)
	if err != nil || d.kind == "" {
		return err
	}
	if d.kind == RepairTransferClaimOrphaned || d.kind == RepairTransferRecordMissing {
		// A transfer between its claim and its invite, or between its
		// invite and its record, looks the same.
		seen, err := run.SeenFor(ctx, d.kind, csid+"_"+d.claim.ID)
		if err != nil || seen < run.Grace() {
			return err
		}
	}
	sids := map[string]string{"conversationSid": csid, "transferId": d.claim.ID}
	if d.inv.TaskSid != "" {
		sids["taskSid"] = d.inv.TaskSid
	}
	if d.rec != nil && d.remove {
		sids["participantSid"] = d.rec.ParticipantSid
	}
	run.Repair(ctx, Repair{
		Kind: d.kind, Key: csid, Sids: sids, Detail: d.detail(),
		Fix: func(ctx context.Context) error { return s.t.repairTransfer(ctx, csid, d) },
	})
	if d.kind == RepairTransferClaimOrphaned || d.kind == RepairTransferRecordMissing {
		run.Forget(ctx, d.kind, csid+"_"+d.claim.ID)
	}
	return nil
}

func (d transferDiagnosis) detail() string {
	switch d.kind {
	case RepairTransferAgentNotRemoved:
		return "the target accepted (task " + d.status + ") but the transferring agent is still in"
	case RepairTransferTaskOrphaned:
		return "a cold transfer's task is " + d.status + " but the transferring agent is still in"
	case RepairTransferClaimEnded:
		return "the transfer's task is " + d.status + " but its claim was not released"
	case RepairTransferRecordMissing:
		return "a warm transfer's task is " + d.status + " but the conversation's attributes lack its pending record"
	case RepairTransferDeclined:
		return "a warm transfer's target declined it, and its task is still " + d.status
	default:
		return "a transfer claim without an invite"
	}
}

// diagnose reads what the claim's transfer left: its invite, its task and,
// when the agent's removal is in question, the channel's participants.
func (t *Transfers) diagnose(ctx context.Context, it SyncItem) (transferDiagnosis, error) {
	var d transferDiagnosis
	if decodeJSON(it.Data, &d.claim) != nil || d.claim.ID == "" || d.claim.InteractionSid == "" || d.claim.ChannelSid == "" {
		return d, nil // not a claim this version wrote: its TTL ends it
	}
	inv, ok, err := t.findInvite(ctx, d.claim.InteractionSid, d.claim.ChannelSid, d.claim.ID)
	if isNotFound(err) {
		ok, err = false, nil // the channel is gone: nothing can use the claim
	}
	if err != nil {
		return d, err
	}
	if !ok {
		d.kind = RepairTransferClaimOrphaned
		return d, nil
	}
	d.inv, d.rec = inv, transferFromTask(inv.TaskAttributes)
	task, err := t.tw.FetchTask(ctx, t.cfg.WorkspaceSid, inv.TaskSid)
	switch {
	case isNotFound(err):
		d.status = "gone" // TaskRouter forgets ended tasks after a while
	case err != nil:
		return d, err
	default:
		d.status = task.AssignmentStatus
	}
	routing := d.status == "pending" || d.status == "reserved"
	accepted := d.status == "assigned" || d.status == "wrapping" || d.status == "completed"
	cold := d.rec.Mode == ModeCold
	// Whether the agent is to leave: a cold transfer's agent as soon as its
	// invite exists, a warm one's once the target accepted. A task TaskRouter
	// has forgotten may have been canceled: only a cold transfer's agent.
	wantOut := d.rec.RemoveTransferringAgent && claimVouches(d.claim, *d.rec) &&
		((cold && (routing || accepted || d.status == "gone")) || accepted)
	if wantOut {
		in, err := t.stillIn(ctx, *d.rec)
		if err != nil {
			return d, err
		}
		d.remove = in
	}
	switch {
	case d.remove && routing:
		d.kind = RepairTransferTaskOrphaned
	case d.remove:
		d.kind = RepairTransferAgentNotRemoved
	case !routing:
		d.kind = RepairTransferClaimEnded
	case !cold && claimVouches(d.claim, *d.rec):
		kind, err := t.diagnoseWarm(ctx, it.Key, d)
		if err != nil {
			return d, err
		}
		d.kind = kind
	}
	return d, nil
}

// diagnoseWarm is what a routing warm transfer may need: its cancel after
// its worker target declined, or its pending record back.
func (t *Transfers) diagnoseWarm(ctx context.Context, csid string, d transferDiagnosis) (string, error) {
	if d.rec.TargetType == TargetWorker {
		rs, err := t.tw.ListTaskReservations(ctx, t.cfg.WorkspaceSid, d.inv.TaskSid)
		if err != nil && !isNotFound(err) {
			return "", err
		}
		for _, r := range rs {
			if r.WorkerSid == d.rec.TargetSid && (r.Status == "rejected" || r.Status == "timeout") {
				return RepairTransferDeclined, nil
			}
		}
	}
	missing, err := t.recordMissing(ctx, csid, d.rec.ID)
	if err != nil || !missing {
		return "", err
	}
	return RepairTransferRecordMissing, nil
}

// recordMissing reports whether an open conversation's attributes lack
// the pending record of transfer id.
func (t *Transfers) recordMissing(ctx context.Context, csid, id string) (bool, error) {
	conv, err := t.tw.FetchConversation(ctx, csid)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	p, _ := pendingTransfer(conv.Attributes)
	return conv.State != "closed" && (p == nil || p.ID != id), nil
}

// restoreRecord writes a routing warm transfer's pending record back,
// then makes sure the transfer still routes: its task changes before the
// accept's or cancel's handler removes the record, so a record written
// back while the transfer ended is seen here and removed again, never
// left to refuse the conversation's next transfer.
func (t *Transfers) restoreRecord(ctx context.Context, csid string, d transferDiagnosis) error {
	if err := t.recordPending(ctx, csid, *d.rec); err != nil {
		return err
	}
	task, err := t.tw.FetchTask(ctx, t.cfg.WorkspaceSid, d.inv.TaskSid)
	if err == nil && (task.AssignmentStatus == "pending" || task.AssignmentStatus == "reserved") {
		return nil
	}
	return errors.Join(ignoreNotFound(err), t.removeRecord(ctx, csid, d.rec.ID))
}

// claimVouches reports whether a claim confirms the record a task carries
// (as Transfers.confirmed does): the task's attributes can be rewritten by
// whoever holds the task, the claim only by flexhooks.
func claimVouches(c transferClaim, rec TransferRecord) bool {
	return c.ID == rec.ID && c.InteractionSid == rec.InteractionSid && c.ChannelSid == rec.ChannelSid &&
		(c.ParticipantSid == rec.ParticipantSid || (c.ParticipantSid == "" && c.By == rec.WorkerSid))
}

// stillIn reports whether the transferring agent is still in. Whether Flex
// lists closed participants is undocumented (park.go's participantActive),
// so a listed one is asked about through its task: closing the participant
// completes it (or, with wrapup, sets it wrapping).
func (t *Transfers) stillIn(ctx context.Context, rec TransferRecord) (bool, error) {
	parts, err := t.tw.ListInteractionParticipants(ctx, rec.InteractionSid, rec.ChannelSid)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	i := slices.IndexFunc(parts, func(p InteractionParticipant) bool { return p.Sid == rec.ParticipantSid })
	if i < 0 || parts[i].TaskSid == "" {
		return i >= 0, nil
	}
	task, err := t.tw.FetchTask(ctx, t.cfg.WorkspaceSid, parts[i].TaskSid)
	if isNotFound(err) {
		return false, nil // ended, and forgotten since
	}
	if err != nil {
		return false, err
	}
	return task.AssignmentStatus == "assigned" || task.AssignmentStatus == "reserved", nil
}

// repairTransfer re-reads the claim and makes the repair d planned if it is
// still called for: the agent leaves, then (unless the task still routes)
// the record and claim go, as the accept or cancel handler would have done.
func (t *Transfers) repairTransfer(ctx context.Context, csid string, planned transferDiagnosis) error {
	it, err := t.claims.fetch(ctx, t.tw, TransferClaimMap, csid)
	if isNotFound(err) {
		return ErrRepairUnneeded
	}
	if err != nil {
		return err
	}
	d, err := t.diagnose(ctx, it)
	if err != nil {
		return err
	}
	if d.kind != planned.kind || d.claim.ID != planned.claim.ID {
		return ErrRepairUnneeded
	}
	switch d.kind {
	case RepairTransferRecordMissing:
		return t.restoreRecord(ctx, csid, d)
	case RepairTransferDeclined:
		// As the decline's handler would have: the task goes, and with it
		// the transfer (the transferring agent still has the customer).
		if err := t.cancelTask(ctx, d.inv.TaskSid, "transfer to "+d.rec.TargetSid+" declined"); err != nil {
			return err
		}
		return t.finish(ctx, csid, d.claim.ID)
	}
	if d.remove {
		if err := t.removeAgent(ctx, *d.rec); err != nil {
			return err
		}
	}
	if d.kind == RepairTransferTaskOrphaned {
		// The task still routes: its accept or cancel ends the claim, which
		// meanwhile refuses a second transfer.
		return nil
	}
	return t.finish(ctx, csid, d.claim.ID)
}
