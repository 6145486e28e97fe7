package webhooks

import (
	"encoding/json"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flexhooks/flexhooks"
)

// The record is facts; its state, reason, times and contact chain are
// derived. These tests pin the derivation and the properties the facts
// model promises: replays change nothing, late events never roll the state
// back, and any order of the same facts gives the same record.

var recT0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// recAt is recT0 plus a number of seconds (fractions allowed).
func recAt(seconds float64) time.Time {
	return recT0.Add(time.Duration(seconds * float64(time.Second)))
}

const (
	wtA         = "WT0000000000000000000000000000000a"
	wtB         = "WT0000000000000000000000000000000b"
	wtC         = "WT0000000000000000000000000000000c"
	workerAlice = "WK000000000000000000000000000000a1"
	workerBob   = "WK000000000000000000000000000000b0"
)

// A fact is one event's contribution to a record: what a handler applies.
type fact struct {
	name  string
	apply func(r *InteractionRecord) bool
}

func taskCreated(sid, reason string, sec float64) fact {
	return fact{"created " + sid[len(sid)-1:], func(r *InteractionRecord) bool {
		return r.recordTask(taskFacts{Sid: sid, Reason: reason, CreatedAt: recAt(sec), QueueName: "Everyone"})
	}}
}

// taskAccepted is a reservation.accepted: like every TaskRouter event it also
// carries the task's creation (to the second) and its reason.
func taskAccepted(sid, reason string, createdSec, sec float64, worker, name string) fact {
	return fact{"accepted " + sid[len(sid)-1:], func(r *InteractionRecord) bool {
		return r.recordTask(taskFacts{Sid: sid, Reason: reason, CreatedAt: recAt(createdSec), QueueName: "Everyone",
			AcceptedAt: recAt(sec), WorkerSid: worker, WorkerName: name})
	}}
}

func taskEnded(sid, reason string, createdSec, sec float64, status string) fact {
	return fact{status + " " + sid[len(sid)-1:], func(r *InteractionRecord) bool {
		return r.recordTask(taskFacts{Sid: sid, Reason: reason, CreatedAt: recAt(createdSec), QueueName: "Everyone",
			EndedAt: recAt(sec), EndStatus: status})
	}}
}

func agentReplied(sec float64, author string) fact {
	return fact{"reply " + author, func(r *InteractionRecord) bool { return r.recordFirstReply(recAt(sec), author) }}
}

func convClosed(sec float64) fact {
	return fact{"closed", func(r *InteractionRecord) bool { return r.recordClosed(recAt(sec)) }}
}

func closeAsked(kind string, sec float64) fact {
	var when time.Time
	if sec >= 0 {
		when = recAt(sec)
	}
	return fact{"kind " + kind, func(r *InteractionRecord) bool { return r.recordCloseKind(kind, when) }}
}

func newTestRecord(facts ...fact) *InteractionRecord {
	r := &InteractionRecord{Number: "INT0000001", ConversationSid: "CH00000000000000000000000000000001",
		Channel: "sms", CustomerAddress: "+15550001111", Tasks: []RecordTask{}}
	for _, f := range facts {
		f.apply(r)
	}
	return r
}

// fullLifeFacts is the facts of the story issue 7 tells: inbound, accepted,
// answered, parked, back (unpark), accepted, transferred cold to bob,
// accepted, closed through the API.
func fullLifeFacts() []fact {
	return []fact{
		taskCreated(wtA, ContactInbound, 0),
		taskAccepted(wtA, ContactInbound, 0, 60, workerAlice, "alice"),
		agentReplied(180, "alice"),
		taskEnded(wtA, ContactInbound, 0, 360, "completed"),
		taskCreated(wtB, ContactUnpark, 960),
		taskAccepted(wtB, ContactUnpark, 960, 1020, workerAlice, "alice"),
		taskEnded(wtB, ContactUnpark, 960, 1260, "completed"),
		taskCreated(wtC, ContactTransfer, 1260),
		taskAccepted(wtC, ContactTransfer, 1260, 1380, workerBob, "bob"),
		closeAsked(closeComplete, 1680),
		taskEnded(wtC, ContactTransfer, 1260, 1680, "completed"),
		convClosed(1680),
	}
}

func TestInteractionStateDerivation(t *testing.T) {
	tests := []struct {
		name       string
		facts      []fact
		wantState  string
		wantReason string
		wantWorker string // assignedTo; "" for none
	}{
		{"no task yet", nil, StateNew, ReasonWaitingForAgent, ""},
		{"inbound task waiting", []fact{taskCreated(wtA, ContactInbound, 0)}, StateNew, ReasonWaitingForAgent, ""},
		{"accepted", []fact{taskCreated(wtA, ContactInbound, 0), taskAccepted(wtA, ContactInbound, 0, 60, workerAlice, "alice")},
			StateWorkInProgress, "", workerAlice},
		{"accept seen before the creation", []fact{taskAccepted(wtA, ContactInbound, 0, 60, workerAlice, "alice")},
			StateWorkInProgress, "", workerAlice},
		{"parked: the agent's task ended, none live", fullLifeFacts()[:4], StateOnHold, ReasonWaitingOnCustomer, workerAlice},
		{"customer back: the unpark's task waits", fullLifeFacts()[:5], StateNew, ReasonWaitingForAgent, workerAlice},
		{"unparked and accepted", fullLifeFacts()[:6], StateWorkInProgress, "", workerAlice},
		{"cold transfer pending", fullLifeFacts()[:8], StateOnHold, ReasonWaitingInternal, workerAlice},
		{"cold transfer accepted", fullLifeFacts()[:9], StateWorkInProgress, "", workerBob},
		{"warm transfer pending: both tasks live", []fact{
			taskCreated(wtA, ContactInbound, 0), taskAccepted(wtA, ContactInbound, 0, 60, workerAlice, "alice"),
			taskCreated(wtB, ContactTransfer, 120),
		}, StateOnHold, ReasonWaitingInternal, workerAlice},
		{"warm transfer accepted: the newest agent is assigned", []fact{
			taskCreated(wtA, ContactInbound, 0), taskAccepted(wtA, ContactInbound, 0, 60, workerAlice, "alice"),
			taskCreated(wtB, ContactTransfer, 120), taskAccepted(wtB, ContactTransfer, 120, 150, workerBob, "bob"),
		}, StateWorkInProgress, "", workerBob},
		{"a task made by someone else while an agent works it", []fact{
			taskCreated(wtA, ContactInbound, 0), taskAccepted(wtA, ContactInbound, 0, 60, workerAlice, "alice"),
			taskCreated(wtB, ContactInbound, 120),
		}, StateWorkInProgress, "", workerAlice},
		{"canceled before anyone accepted", []fact{
			taskCreated(wtA, ContactInbound, 0), taskEnded(wtA, ContactInbound, 0, 30, "canceled"),
		}, StateNew, ReasonWaitingForAgent, ""},
		{"task wrapping after the conversation closed", []fact{
			taskCreated(wtA, ContactInbound, 0), taskAccepted(wtA, ContactInbound, 0, 60, workerAlice, "alice"), convClosed(300),
		}, StateClosedComplete, "", workerAlice},
		{"closed through the API", fullLifeFacts(), StateClosedComplete, "", workerBob},
		{"close asked for, Twilio's close not seen yet", []fact{
			taskCreated(wtA, ContactInbound, 0), taskAccepted(wtA, ContactInbound, 0, 60, workerAlice, "alice"), closeAsked(closeComplete, 200),
		}, StateClosedComplete, "", workerAlice},
		{"abandoned", []fact{
			taskCreated(wtA, ContactInbound, 0), taskAccepted(wtA, ContactInbound, 0, 60, workerAlice, "alice"),
			closeAsked(closeAbandoned, -1), convClosed(1860), taskEnded(wtA, ContactInbound, 0, 1860, "completed"),
		}, StateClosedAbandoned, ReasonTimedOut, workerAlice},
		{"abandon marked but the close failed: still open", []fact{
			taskCreated(wtA, ContactInbound, 0), taskAccepted(wtA, ContactInbound, 0, 60, workerAlice, "alice"), closeAsked(closeAbandoned, -1),
		}, StateWorkInProgress, "", workerAlice},
		{"abandon whose close failed, then closed through the API", []fact{
			taskCreated(wtA, ContactInbound, 0), taskAccepted(wtA, ContactInbound, 0, 60, workerAlice, "alice"),
			closeAsked(closeAbandoned, -1), closeAsked(closeComplete, 3000), convClosed(3000),
		}, StateClosedComplete, "", workerAlice},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newTestRecord(tt.facts...).View()
			assert.Equal(t, tt.wantState, v.State)
			assert.Equal(t, tt.wantReason, v.StateReason)
			if tt.wantWorker == "" {
				assert.Nil(t, v.AssignedTo)
			} else if assert.NotNil(t, v.AssignedTo) {
				assert.Equal(t, tt.wantWorker, v.AssignedTo.WorkerSid)
			}
		})
	}
}

func TestRecordCloseKind(t *testing.T) {
	t.Run("the first deliberate close stands", func(t *testing.T) {
		r := newTestRecord(closeAsked(closeComplete, 10))
		assert.False(t, r.recordCloseKind(closeAbandoned, time.Time{}))
		assert.False(t, r.recordCloseKind(closeComplete, recAt(20)), "a second API close keeps the first time")
		assert.Equal(t, closeComplete, r.CloseKind)
		assert.Equal(t, recAt(10), r.CloseRequestedAt)
		r = newTestRecord(closeAsked(closeAbandoned, -1))
		assert.False(t, r.recordCloseKind(closeAbandoned, time.Time{}))
	})
	// The inactivity timeout marks the abandon as its close begins; when
	// that close fails, the conversation goes on and an agent may close it
	// (the API refuses a record already Closed Abandoned).
	t.Run("a complete close supersedes an abandon, in either order", func(t *testing.T) {
		a := newTestRecord(closeAsked(closeAbandoned, -1), closeAsked(closeComplete, 120), convClosed(120))
		b := newTestRecord(closeAsked(closeComplete, 120), closeAsked(closeAbandoned, -1), convClosed(120))
		assert.Equal(t, closeComplete, a.CloseKind)
		assert.Equal(t, recAt(120), a.CloseRequestedAt)
		assert.JSONEq(t, recordJSON(t, a), recordJSON(t, b))
		assert.Equal(t, StateClosedComplete, a.View().State)
	})
}

func TestRecordReplaysChangeNothing(t *testing.T) {
	for i, f := range fullLifeFacts() {
		t.Run(strconv.Itoa(i)+" "+f.name, func(t *testing.T) {
			r := newTestRecord(fullLifeFacts()[:i+1]...)
			before := recordJSON(t, r)
			assert.False(t, f.apply(r), "the replay reports no change")
			assert.JSONEq(t, before, recordJSON(t, r))
		})
	}
}

func TestRecordLateEventsNeverRollBack(t *testing.T) {
	tests := []struct {
		name  string
		late  fact
		state string
	}{
		{"task.created after the task ended", taskCreated(wtA, ContactInbound, 0), StateOnHold},
		{"a replayed accept after the park", taskAccepted(wtA, ContactInbound, 0, 60, workerAlice, "alice"), StateOnHold},
		{"an accept stamped later (another replica's clock)", taskAccepted(wtA, ContactInbound, 0, 90, workerAlice, "alice"), StateOnHold},
		{"task.deleted long after the completion", taskEnded(wtA, ContactInbound, 0, 86400, "deleted"), StateOnHold},
		{"an event of the task without its reason's mark", taskEnded(wtA, "", 0, 400, "completed"), StateOnHold},
		{"a later agent message", agentReplied(300, "bob"), StateOnHold},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRecord(fullLifeFacts()[:4]...)
			before := r.View()
			assert.False(t, tt.late.apply(r))
			after := r.View()
			assert.Equal(t, tt.state, after.State)
			assert.Equal(t, before, after)
		})
	}
	t.Run("a closed record stays closed", func(t *testing.T) {
		r := newTestRecord(fullLifeFacts()...)
		for _, f := range fullLifeFacts()[:9] {
			f.apply(r)
		}
		assert.False(t, convClosed(2000).apply(r), "a later close time does not move it")
		v := r.View()
		assert.Equal(t, StateClosedComplete, v.State)
		assert.Equal(t, recAt(1680), *v.ClosedAt)
	})
	t.Run("an earlier end replaces a later one", func(t *testing.T) {
		r := newTestRecord(fullLifeFacts()[:3]...)
		taskEnded(wtA, ContactInbound, 0, 86400, "deleted").apply(r)
		assert.True(t, taskEnded(wtA, ContactInbound, 0, 360, "completed").apply(r))
		assert.Equal(t, "completed", r.Tasks[0].EndStatus)
		assert.Equal(t, 300.0, r.View().DurationSeconds)
	})
}

// sameSecondFacts is a cold transfer made in the second its task was accepted
// in, the task's end seen in that second too: TaskRouter's creation times
// (seconds) cannot order the tasks, the facts still must.
func sameSecondFacts() []fact {
	return []fact{
		taskCreated(wtA, ContactInbound, 0),
		taskAccepted(wtA, ContactInbound, 0, 0.2, workerAlice, "alice"),
		taskCreated(wtB, ContactTransfer, 0),
		taskEnded(wtA, ContactInbound, 0, 0.7, "completed"),
		taskAccepted(wtB, ContactTransfer, 0, 0.9, workerBob, "bob"),
		agentReplied(0, "alice"),
		convClosed(5),
	}
}

func TestRecordFactsCommute(t *testing.T) {
	// check applies head in its order, then facts in each order given,
	// and wants the record (stored and viewed) the in-order one gives.
	check := func(t *testing.T, head, facts []fact, orders func(yield func([]int) bool)) {
		t.Helper()
		want := newTestRecord(append(append([]fact(nil), head...), facts...)...)
		wantView, wantStored := want.View(), recordJSON(t, want)
		n := 0
		for order := range orders {
			r := newTestRecord(head...)
			names := make([]string, len(order))
			for i, k := range order {
				facts[k].apply(r)
				names[i] = facts[k].name
			}
			if !assert.Equal(t, wantView, r.View(), "order %v", names) || !assert.JSONEq(t, wantStored, recordJSON(t, r), "order %v", names) {
				return
			}
			n++
		}
		require.Positive(t, n)
	}
	t.Run("every permutation of a same-second transfer", func(t *testing.T) {
		facts := sameSecondFacts()
		check(t, nil, facts, everyOrder(len(facts)))
		v := newTestRecord(facts...).View()
		require.Len(t, v.RelatedTasks, 2)
		assert.Equal(t, wtA, v.RelatedTasks[0].ContactID, "the accepted-first task comes first")
		assert.Equal(t, StateClosedComplete, v.State)
	})
	t.Run("every permutation of a life's last events", func(t *testing.T) {
		life := fullLifeFacts()
		check(t, life[:5], life[5:], everyOrder(len(life)-5))
	})
	t.Run("random orders of a full life with replays and late events", func(t *testing.T) {
		facts := append(fullLifeFacts(),
			taskAccepted(wtA, ContactInbound, 0, 60, workerAlice, "alice"), // replay
			taskEnded(wtA, ContactInbound, 0, 7200, "deleted"),             // TaskRouter's later deletion
			taskEnded(wtC, "", 1260, 1680, "completed"),                    // attributes without the mark
			agentReplied(400, "bob"),
			convClosed(1700),
		)
		rng := rand.New(rand.NewPCG(7, 7))
		check(t, nil, facts, func(yield func([]int) bool) {
			for range 3000 {
				if !yield(rng.Perm(len(facts))) {
					return
				}
			}
		})
		v := newTestRecord(facts...).View()
		assert.Equal(t, 840.0, v.DurationSeconds)
		assert.Equal(t, recAt(1680), *v.ClosedAt)
	})
}

// everyOrder yields every order of n facts (Heap's algorithm).
func everyOrder(n int) func(yield func([]int) bool) {
	return func(yield func([]int) bool) {
		a := make([]int, n)
		for i := range a {
			a[i] = i
		}
		c := make([]int, n)
		if !yield(append([]int(nil), a...)) {
			return
		}
		for i := 0; i < n; {
			if c[i] < i {
				if i%2 == 0 {
					a[0], a[i] = a[i], a[0]
				} else {
					a[c[i]], a[i] = a[i], a[c[i]]
				}
				if !yield(append([]int(nil), a...)) {
					return
				}
				c[i]++
				i = 0
			} else {
				c[i] = 0
				i++
			}
		}
	}
}

func recordJSON(t *testing.T, r *InteractionRecord) string {
	t.Helper()
	b, err := json.Marshal(r)
	require.NoError(t, err)
	return string(b)
}

func TestRecordWaitTime(t *testing.T) {
	tests := []struct {
		name       string
		facts      []fact
		wantWait   *float64
		wantSource string
	}{
		{"nobody answered yet", []fact{taskCreated(wtA, ContactInbound, 0)}, nil, ""},
		{"accepted, no message seen", []fact{taskCreated(wtA, ContactInbound, 0), taskAccepted(wtA, ContactInbound, 0, 45.5, workerAlice, "alice")},
			recPtr(45.5), WaitFromAccept},
		{"first agent reply", []fact{taskCreated(wtA, ContactInbound, 0), taskAccepted(wtA, ContactInbound, 0, 45, workerAlice, "alice"), agentReplied(100, "alice")},
			recPtr(100.0), WaitFromFirstReply},
		{"the earliest of two replies", []fact{taskCreated(wtA, ContactInbound, 0), agentReplied(130, "bob"), agentReplied(100, "alice"), agentReplied(150, "carol")},
			recPtr(100.0), WaitFromFirstReply},
		{"the first accept of several tasks", []fact{
			taskCreated(wtA, ContactInbound, 0), taskEnded(wtA, ContactInbound, 0, 20, "canceled"),
			taskCreated(wtB, ContactTransfer, 30), taskAccepted(wtB, ContactTransfer, 30, 80, workerBob, "bob"),
		}, recPtr(80.0), WaitFromAccept},
		{"a reply stamped before the opening (clock skew) counts as none", []fact{taskCreated(wtA, ContactInbound, 10), agentReplied(5, "alice")},
			recPtr(0.0), WaitFromFirstReply},
		{"the full life: first reply three minutes in", fullLifeFacts(), recPtr(180.0), WaitFromFirstReply},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newTestRecord(tt.facts...).View()
			assert.Equal(t, tt.wantWait, v.WaitTimeSeconds)
			assert.Equal(t, tt.wantSource, v.WaitTimeSource)
		})
	}
	t.Run("the reply's author is kept", func(t *testing.T) {
		r := newTestRecord(agentReplied(130, "bob"), agentReplied(100, "alice"))
		assert.Equal(t, "alice", r.FirstReplyBy)
		assert.False(t, r.recordFirstReply(recAt(100), "zed"), "a tie keeps the author first in order")
		assert.True(t, r.recordFirstReply(recAt(100), "adam"))
		assert.False(t, r.recordFirstReply(time.Time{}, "anyone"))
	})
}

func recPtr[T any](v T) *T { return &v }

func TestRecordDuration(t *testing.T) {
	tests := []struct {
		name  string
		facts []fact
		want  float64
	}{
		{"no task", nil, 0},
		{"accepted, still live: not counted yet", fullLifeFacts()[:2], 0},
		{"one task parked", fullLifeFacts()[:4], 300},
		{"canceled before an accept counts nothing", []fact{taskCreated(wtA, ContactInbound, 0), taskEnded(wtA, ContactInbound, 0, 50, "canceled")}, 0},
		{"every agent's time over every task", fullLifeFacts(), 300 + 240 + 300},
		{"an end stamped before the accept counts nothing", []fact{
			taskAccepted(wtA, ContactInbound, 0, 100, workerAlice, "alice"), taskEnded(wtA, ContactInbound, 0, 90, "completed"),
		}, 0},
		{"warm transfer: both agents' overlapping times", []fact{
			taskAccepted(wtA, ContactInbound, 0, 10, workerAlice, "alice"), taskAccepted(wtB, ContactTransfer, 20, 30, workerBob, "bob"),
			taskEnded(wtA, ContactInbound, 0, 40, "completed"), taskEnded(wtB, ContactTransfer, 20, 100.5, "completed"),
		}, 30 + 70.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.InDelta(t, tt.want, newTestRecord(tt.facts...).View().DurationSeconds, 1e-9)
		})
	}
}

func TestRecordNeedsDescription(t *testing.T) {
	flexClosed := []fact{taskCreated(wtA, ContactInbound, 0), taskAccepted(wtA, ContactInbound, 0, 60, workerAlice, "alice"),
		convClosed(300), taskEnded(wtA, ContactInbound, 0, 420, "completed")}
	tests := []struct {
		name        string
		facts       []fact
		description string
		want        bool
	}{
		{"open without a description", fullLifeFacts()[:2], "", false},
		{"closed in Flex without a description", flexClosed, "", true},
		{"closed in Flex, described later", flexClosed, "Refund issued", false},
		{"closed through the API, described", fullLifeFacts(), "Refund issued", false},
		{"abandoned: nothing to describe", []fact{taskCreated(wtA, ContactInbound, 0), closeAsked(closeAbandoned, -1), convClosed(100)}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRecord(tt.facts...)
			r.ShortDescription = tt.description
			assert.Equal(t, tt.want, r.View().NeedsDescription)
		})
	}
	t.Run("the Flex close's times", func(t *testing.T) {
		v := newTestRecord(flexClosed...).View()
		assert.Equal(t, StateClosedComplete, v.State)
		assert.Equal(t, recAt(300), *v.ClosedAt, "closed when the conversation closed")
		assert.Equal(t, 360.0, v.DurationSeconds, "the wrap-up counts: accept to completion")
	})
}

func TestRecordReasonNote(t *testing.T) {
	life := fullLifeFacts()
	// note sets a hand-written reason after the first n facts, as PATCH does.
	note := func(n int, reason string) *InteractionRecord {
		r := newTestRecord(life[:n]...)
		r.ReasonNote = r.noteReason(reason)
		return r
	}
	t.Run("shown in the state it was set in", func(t *testing.T) {
		r := note(4, "Waiting for the invoice")
		v := r.View()
		assert.Equal(t, StateOnHold, v.State)
		assert.Equal(t, "Waiting for the invoice", v.StateReason)
	})
	t.Run("hidden once the state moves on", func(t *testing.T) {
		r := note(4, "Waiting for the invoice")
		for i, want := range []struct{ state, reason string }{
			{StateNew, ReasonWaitingForAgent},
			{StateWorkInProgress, ""},
			{StateOnHold, ReasonWaitingOnCustomer}, // the transferring agent's task ended first: not the noted stay
			{StateOnHold, ReasonWaitingInternal},
		} {
			life[4+i].apply(r)
			v := r.View()
			assert.Equal(t, want.state, v.State, life[4+i].name)
			assert.Equal(t, want.reason, v.StateReason, life[4+i].name)
		}
	})
	t.Run("not shown again on a later stay in the same state", func(t *testing.T) {
		r := note(4, "Waiting for the invoice")
		life[4].apply(r) // back: New
		life[5].apply(r) // accepted: WIP
		taskEnded(wtB, ContactUnpark, 960, 1200, "completed").apply(r)
		v := r.View()
		assert.Equal(t, StateOnHold, v.State, "parked a second time")
		assert.Equal(t, ReasonWaitingOnCustomer, v.StateReason, "the first park's note is stale")
	})
	t.Run("a note set while in progress", func(t *testing.T) {
		r := note(2, "Checking the order")
		assert.Equal(t, "Checking the order", r.View().StateReason)
		convClosed(500).apply(r)
		assert.Empty(t, r.View().StateReason, "closed: the note was for the work")
	})
}

func TestRecordContactChain(t *testing.T) {
	t.Run("initial, previous and next", func(t *testing.T) {
		v := newTestRecord(fullLifeFacts()...).View()
		require.Len(t, v.RelatedTasks, 3)
		want := []Contact{
			{ContactID: wtA, InitialContactID: wtA, NextContactID: wtB, Reason: ContactInbound, WorkerSid: workerAlice, WorkerName: "alice",
				QueueName: "Everyone", StartedAt: recPtr(recAt(0)), AcceptedAt: recPtr(recAt(60)), EndedAt: recPtr(recAt(360)), EndStatus: "completed"},
			{ContactID: wtB, InitialContactID: wtA, PreviousContactID: wtA, NextContactID: wtC, Reason: ContactUnpark, WorkerSid: workerAlice, WorkerName: "alice",
				QueueName: "Everyone", StartedAt: recPtr(recAt(960)), AcceptedAt: recPtr(recAt(1020)), EndedAt: recPtr(recAt(1260)), EndStatus: "completed"},
			{ContactID: wtC, InitialContactID: wtA, PreviousContactID: wtB, Reason: ContactTransfer, WorkerSid: workerBob, WorkerName: "bob",
				QueueName: "Everyone", StartedAt: recPtr(recAt(1260)), AcceptedAt: recPtr(recAt(1380)), EndedAt: recPtr(recAt(1680)), EndStatus: "completed"},
		}
		assert.Equal(t, want, v.RelatedTasks)
		assert.Empty(t, v.ContinuedFromContactID)
	})
	t.Run("a continued conversation", func(t *testing.T) {
		r := newTestRecord(fullLifeFacts()[:2]...)
		r.ContinuedFrom = &Continuation{ContactID: wtC, ConversationSid: "CH00000000000000000000000000000002", RehydrationType: "ENTIRE_PAST_SESSION"}
		taskCreated(wtB, ContactTransfer, 100).apply(r)
		v := r.View()
		assert.Equal(t, wtC, v.ContinuedFromContactID)
		require.Len(t, v.RelatedTasks, 2)
		assert.Equal(t, ContactRehydrated, v.RelatedTasks[0].Reason, "the first inbound contact continues the past one")
		assert.Equal(t, wtC, v.RelatedTasks[0].RelatedContactID)
		assert.Equal(t, ContactTransfer, v.RelatedTasks[1].Reason, "later contacts keep their reason")
		assert.Empty(t, v.RelatedTasks[1].RelatedContactID)
	})
	t.Run("no task: an empty list, not null", func(t *testing.T) {
		b, err := json.Marshal(newTestRecord().View())
		require.NoError(t, err)
		assert.Contains(t, string(b), `"relatedTasks":[]`)
	})
}

func TestRecordAssignedTo(t *testing.T) {
	r := newTestRecord(fullLifeFacts()...)
	assert.True(t, r.AssignedTo(workerAlice))
	assert.True(t, r.AssignedTo(workerBob))
	assert.False(t, r.AssignedTo("WK000000000000000000000000000000c0"))
	assert.False(t, r.AssignedTo(""), "a caller with no worker is nobody's agent")
	assert.False(t, newTestRecord(taskCreated(wtA, ContactInbound, 0)).AssignedTo(""))
}

func TestTaskEventFacts(t *testing.T) {
	const csid = "CH00000000000000000000000000000001"
	attrs := func(extra string) string {
		return `{"conversationSid":"` + csid + `","flexInteractionSid":"KD00000000000000000000000000000001",` +
			`"flexInteractionChannelSid":"UO00000000000000000000000000000001","channelType":"whatsapp",` +
			`"customerAddress":"whatsapp:+15550001111","customerName":"Ann"` + extra + `}`
	}
	ev := func(typ, extra string) TaskRouterEvent {
		return TaskRouterEvent{EventType: typ, TaskSid: wtA, TaskAttributes: attrs(extra), TaskQueueSid: "WQ00000000000000000000000000000001",
			TaskQueueName: "Support", WorkerSid: workerAlice, WorkerName: "alice", TaskDateCreated: strconv.FormatInt(recAt(0).Unix(), 10),
			TimestampMs: strconv.FormatInt(recAt(61.25).UnixMilli(), 10), TaskCompletedReason: "done", TaskCanceledReason: "gone"}
	}
	base := taskFacts{Sid: wtA, Reason: ContactInbound, CreatedAt: recAt(0), QueueSid: "WQ00000000000000000000000000000001", QueueName: "Support"}
	with := func(change func(*taskFacts)) taskFacts { f := base; change(&f); return f }
	tests := []struct {
		name string
		ev   TaskRouterEvent
		want taskFacts
	}{
		{"created", ev("task.created", ""), base},
		{"accepted", ev("reservation.accepted", ""), with(func(f *taskFacts) { f.AcceptedAt, f.WorkerSid, f.WorkerName = recAt(61.25), workerAlice, "alice" })},
		{"completed", ev("task.completed", ""), with(func(f *taskFacts) { f.EndedAt, f.EndStatus, f.EndReason = recAt(61.25), "completed", "done" })},
		{"canceled", ev("task.canceled", ""), with(func(f *taskFacts) { f.EndedAt, f.EndStatus, f.EndReason = recAt(61.25), "canceled", "gone" })},
		{"deleted", ev("task.deleted", ""), with(func(f *taskFacts) { f.EndedAt, f.EndStatus = recAt(61.25), "deleted" })},
		{"a transfer's task", ev("task.created", `,"flexhooksTransfer":{"id":"TR1"}`), with(func(f *taskFacts) { f.Reason = ContactTransfer })},
		{"an unpark's task", ev("task.created", `,"flexhooksUnparkId":"WH1"`), with(func(f *taskFacts) { f.Reason = ContactUnpark })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotCsid, open, f, ok := taskEventFacts(tt.ev)
			require.True(t, ok)
			assert.Equal(t, csid, gotCsid)
			assert.Equal(t, openFacts{InteractionSid: "KD00000000000000000000000000000001", ChannelSid: "UO00000000000000000000000000000001",
				Channel: "whatsapp", CustomerAddress: "whatsapp:+15550001111", CustomerName: "Ann"}, open)
			assert.Equal(t, tt.want, f)
		})
	}
	t.Run("a task.created without the task's creation uses the event's time", func(t *testing.T) {
		e := ev("task.created", "")
		e.TaskDateCreated = ""
		_, _, f, ok := taskEventFacts(e)
		require.True(t, ok)
		assert.Equal(t, recAt(61.25), f.CreatedAt)
	})
	t.Run("Timestamp in seconds when TimestampMs is absent", func(t *testing.T) {
		e := ev("reservation.accepted", "")
		e.TimestampMs, e.Timestamp = "", strconv.FormatInt(recAt(70).Unix(), 10)
		_, _, f, _ := taskEventFacts(e)
		assert.Equal(t, recAt(70), f.AcceptedAt)
	})
	for _, bad := range []struct {
		name string
		ev   TaskRouterEvent
	}{
		{"not a conversation's task", TaskRouterEvent{EventType: "task.created", TaskSid: wtA, TaskAttributes: `{"type":"voice"}`}},
		{"malformed attributes", TaskRouterEvent{EventType: "task.created", TaskSid: wtA, TaskAttributes: `{`}},
		{"a bad task SID", TaskRouterEvent{EventType: "task.created", TaskSid: "WTnope", TaskAttributes: attrs("")}},
	} {
		t.Run(bad.name, func(t *testing.T) {
			_, _, _, ok := taskEventFacts(bad.ev)
			assert.False(t, ok)
		})
	}
}

func TestProfileID(t *testing.T) {
	id := ProfileID("sms", "+15550001111")
	assert.Regexp(t, `^PF[0-9a-f]{32}$`, id)
	assert.True(t, validSID("PF", id))
	assert.Equal(t, id, ProfileID(" SMS ", "+15550001111 "), "case and spaces do not make another profile")
	assert.NotEqual(t, id, ProfileID("whatsapp", "+15550001111"), "one profile per channel")
	assert.Equal(t, ProfileID("web", "ann@example.com"), ProfileID("chat", "Ann@example.com"),
		"web chat is channelType web in Flex and chat to people")
	assert.Equal(t, ProfileID("web", "ann"), ProfileID(channelOf("ann"), "ann"), "an address lookup finds a web chat profile")
	for addr, want := range map[string]string{
		"+15550001111": "sms", "whatsapp:+15550001111": "whatsapp", "WhatsApp:+1": "whatsapp",
		"messenger:1234": "messenger", "ann@example.com": "chat",
	} {
		assert.Equal(t, want, channelOf(addr), addr)
	}
}

func TestProfileIndexKeyNewestFirst(t *testing.T) {
	const p = "PF00000000000000000000000000000001"
	older := profileIndexKey(p, recAt(0), "CH00000000000000000000000000000009")
	newer := profileIndexKey(p, recAt(1), "CH00000000000000000000000000000001")
	assert.Less(t, newer, older, "Sync lists keys ascending: the newest must sort first")
	assert.Regexp(t, `^`+p+`_\d{13}_CH`, newer)
	assert.NotRegexp(t, `\.\d`, newer, "twilio-go drops a dot followed by digits from a GET's From")
	assert.Less(t, profileIndexKey(p, recAt(0), "CH1"), profileIndexKey(p, recAt(0), "CH2"), "same instant: by conversation")
}

func TestInteractionRequestsValidate(t *testing.T) {
	str := func(s string) *string { return &s }
	long := func(n int) *string {
		b := make([]rune, n)
		for i := range b {
			b[i] = 'é'
		}
		s := string(b)
		return &s
	}
	const csid = "CH00000000000000000000000000000001"
	tests := []struct {
		name   string
		req    interface{ Validate() error }
		fields []string // the fields the error names; none: valid
	}{
		{"get", &InteractionRequest{ConversationSid: csid}, nil},
		{"get: not a SID", &InteractionRequest{ConversationSid: "CH1"}, []string{"conversationSid"}},
		{"patch: nothing to set", &PatchInteractionRequest{ConversationSid: csid}, []string{"shortDescription"}},
		{"patch: description", &PatchInteractionRequest{ConversationSid: csid, ShortDescription: str("Refund")}, nil},
		{"patch: 160 characters", &PatchInteractionRequest{ConversationSid: csid, ShortDescription: long(160)}, nil},
		{"patch: 161 characters", &PatchInteractionRequest{ConversationSid: csid, ShortDescription: long(161)}, []string{"shortDescription"}},
		{"patch: blank reason and bad SID", &PatchInteractionRequest{ConversationSid: "x", StateReason: str("  ")}, []string{"conversationSid", "stateReason"}},
		{"close without a description (checked against the record)", &CloseInteractionRequest{ConversationSid: csid}, nil},
		{"close: blank description", &CloseInteractionRequest{ConversationSid: csid, ShortDescription: str(" ")}, []string{"shortDescription"}},
		{"profile: not an ID", &ProfileRequest{ProfileID: "PF1"}, []string{"profileId"}},
		{"patch profile: nothing", &PatchProfileRequest{ProfileID: ProfileID("sms", "+1")}, []string{"customerId"}},
		{"patch profile: too long a name", &PatchProfileRequest{ProfileID: ProfileID("sms", "+1"), CustomerName: long(121)}, []string{"customerName"}},
		{"list: no address", &InteractionListRequest{}, []string{"address"}},
		{"list: page too large", &InteractionListRequest{Address: "+1", PageSize: 51}, []string{"pageSize"}},
		{"list: a token that is not one", &InteractionListRequest{Address: "+1", PageToken: "!!"}, []string{"pageToken"}},
		{"list: another profile's token", &InteractionListRequest{Address: "+1", PageToken: encodePageToken(profileIndexPrefix(ProfileID("sms", "+2")) + "1")}, []string{"pageToken"}},
		{"list: by address", &InteractionListRequest{Address: "+1", PageSize: 50, PageToken: encodePageToken(profileIndexPrefix(ProfileID("sms", "+1")) + "1")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.req.Validate()
			if len(tt.fields) == 0 {
				assert.NoError(t, err)
				return
			}
			var fe *flexhooks.Error
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, flexhooks.EINVALID, fe.Code)
			assert.ElementsMatch(t, tt.fields, slices.Collect(maps.Keys(fe.Fields)))
		})
	}
}
