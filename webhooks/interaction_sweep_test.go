package webhooks

import (
	"testing"
	"time"
)

func TestRecordSweepMissingFact(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	settled := t0.Add(10 * time.Minute)
	old, recent := t0, settled.Add(time.Second)
	const sid = "WT00000000000000000000000000000001"
	task := func(status string, created, updated time.Time) TaskSummary {
		return TaskSummary{Sid: sid, AssignmentStatus: status, DateCreated: created, DateUpdated: updated}
	}
	rec := func(rt ...RecordTask) *InteractionRecord { return &InteractionRecord{Tasks: rt} }
	full := RecordTask{Sid: sid, CreatedAt: old, AcceptedAt: old, EndedAt: old}
	tests := []struct {
		name string
		rec  *InteractionRecord
		task TaskSummary
		want string
	}{
		{"no record, settled task", nil, task("pending", old, old), "the task (no record)"},
		{"no record, task within the grace", nil, task("pending", recent, recent), ""},
		{"task unknown to the record", rec(), task("assigned", old, old), "the task"},
		{"task unknown, within the grace", rec(), task("assigned", recent, recent), ""},
		{"creation lost", rec(RecordTask{Sid: sid}), task("pending", old, old), "its creation"},
		{"accept lost", rec(RecordTask{Sid: sid, CreatedAt: old}), task("assigned", old, old), "its accept"},
		{"accept within the grace", rec(RecordTask{Sid: sid, CreatedAt: old}), task("assigned", old, recent), ""},
		{"end lost", rec(RecordTask{Sid: sid, CreatedAt: old, AcceptedAt: old}), task("completed", old, old), "its end"},
		{"canceled, never accepted", rec(RecordTask{Sid: sid, CreatedAt: old}), task("canceled", old, old), "its end"},
		{"wrapping is no end", rec(RecordTask{Sid: sid, CreatedAt: old, AcceptedAt: old}), task("wrapping", old, old), ""},
		{"complete", rec(full), task("completed", old, old), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := missingFact(tt.rec, tt.task, settled); got != tt.want {
				t.Errorf("missingFact = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRecordSweepQuiet(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	settled := t0.Add(10 * time.Minute)
	const a, b = "WT0000000000000000000000000000000a", "WT0000000000000000000000000000000b"
	tests := []struct {
		name  string
		rec   *InteractionRecord
		tasks []TaskSummary
		want  bool
	}{
		{"all ended", nil, []TaskSummary{{Sid: a, AssignmentStatus: "completed", DateUpdated: t0}}, true},
		{"wrapping counts", nil, []TaskSummary{{Sid: a, AssignmentStatus: "wrapping", DateUpdated: t0}}, true},
		{"one still worked", nil, []TaskSummary{{Sid: a, AssignmentStatus: "completed", DateUpdated: t0}, {Sid: b, AssignmentStatus: "assigned", DateUpdated: t0}}, false},
		{"ended within the grace", nil, []TaskSummary{{Sid: a, AssignmentStatus: "completed", DateUpdated: settled.Add(time.Second)}}, false},
		{"the record shows another task live", &InteractionRecord{Tasks: []RecordTask{{Sid: b}}},
			[]TaskSummary{{Sid: a, AssignmentStatus: "completed", DateUpdated: t0}}, false},
		{"the record's live task is the listed one", &InteractionRecord{Tasks: []RecordTask{{Sid: a}}},
			[]TaskSummary{{Sid: a, AssignmentStatus: "wrapping", DateUpdated: t0}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := quiet(tt.rec, tt.tasks, settled); got != tt.want {
				t.Errorf("quiet = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRecordSweepGapsOnly(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	const sid = "WT00000000000000000000000000000001"
	exact := t0.Add(61500 * time.Millisecond) // an event's time, to the millisecond
	r := &InteractionRecord{Tasks: []RecordTask{{Sid: sid, CreatedAt: t0, AcceptedAt: exact, WorkerSid: "WK1"}}}
	// TaskRouter's resources: the offer as a bound of the accept, the end.
	f := taskFacts{Sid: sid, CreatedAt: t0, AcceptedAt: t0.Add(time.Second), WorkerSid: "WK1", EndedAt: t0.Add(time.Hour), EndStatus: "completed"}
	if !r.recordTask(gapsOnly(r, f)) {
		t.Fatal("the end was missing: the record changes")
	}
	got := r.Tasks[0]
	if !got.AcceptedAt.Equal(exact) {
		t.Errorf("accept = %v, want the event's %v kept", got.AcceptedAt, exact)
	}
	if !got.EndedAt.Equal(t0.Add(time.Hour)) || got.EndStatus != "completed" {
		t.Errorf("end = %v %q, want TaskRouter's", got.EndedAt, got.EndStatus)
	}
	if r.recordTask(gapsOnly(r, f)) {
		t.Error("a second catch-up changes nothing")
	}
}
