package webhooks

import (
	"slices"
	"strings"
	"time"
)

// The interaction record is kept as facts, not as a state: when each task
// of the conversation was created, accepted and ended, when the
// conversation closed, when the first agent reply came. The state, its
// reason, the wait time and the duration are derived from those facts
// (View). Recording a fact twice changes nothing, and facts commute: events
// replayed, delivered to two replicas or arriving out of order give the
// same record, and a late, older event can never roll the state back. The
// record's Sync revision (If-Match) makes concurrent writers merge their
// facts instead of overwriting each other.

// Interaction states, as ServiceNow names them.
const (
	StateNew             = "New"
	StateWorkInProgress  = "Work in Progress"
	StateOnHold          = "On Hold"
	StateClosedComplete  = "Closed Complete"
	StateClosedAbandoned = "Closed Abandoned"
)

// State reasons the record derives.
const (
	ReasonWaitingOnCustomer = "Waiting on customer"
	ReasonWaitingInternal   = "Waiting internal"
	ReasonWaitingForAgent   = "Waiting for an agent"
	ReasonTimedOut          = "Customer inactive"
)

// Why a contact (a task) began.
const (
	ContactInbound    = "inbound"
	ContactTransfer   = "transfer"
	ContactUnpark     = "unpark"
	ContactRehydrated = "rehydrated"
)

// How the wait time was measured.
const (
	WaitFromFirstReply = "first_reply" // the first agent message (onMessageAdded)
	WaitFromAccept     = "accept"      // no agent message seen: the first accept
)

// How a record was closed.
const (
	closeComplete  = "complete"
	closeAbandoned = "abandoned"
)

// InteractionRecord is the stored record of one conversation: the Sync item
// data in InteractionRecordMap, keyed by conversation SID.
type InteractionRecord struct {
	Number          string `json:"number"`
	ConversationSid string `json:"conversationSid"`
	InteractionSid  string `json:"interactionSid,omitempty"`
	ChannelSid      string `json:"channelSid,omitempty"`
	// Channel is the channel type: sms, whatsapp, chat, messenger…
	Channel         string     `json:"channel,omitempty"`
	CustomerAddress string     `json:"customerAddress,omitempty"`
	OpenedFor       ProfileRef `json:"openedFor"`
	// IndexKey is the key of the record's entry in ProfileInteractionsMap:
	// the one entry the profile's listing shows it under.
	IndexKey string `json:"indexKey,omitempty"`
	// Tasks are the conversation's TaskRouter tasks (its contacts), ordered
	// by creation.
	Tasks []RecordTask `json:"tasks"`

	FirstReplyAt time.Time `json:"firstReplyAt,omitzero"`
	FirstReplyBy string    `json:"firstReplyBy,omitempty"`
	// ClosedAt is when Twilio closed the conversation.
	ClosedAt time.Time `json:"closedAt,omitzero"`
	// CloseKind is set by whoever closed it on purpose: "complete" (the
	// close API) or "abandoned" (the inactivity timeout). A conversation
	// closed with no kind (the agent ended it in Flex) is complete.
	CloseKind        string    `json:"closeKind,omitempty"`
	CloseRequestedAt time.Time `json:"closeRequestedAt,omitzero"`

	ShortDescription string `json:"shortDescription,omitempty"`
	// ReasonNote is a state reason set by hand (PATCH); it shows while the
	// record is still in the state it was set in.
	ReasonNote *ReasonNote `json:"reasonNote,omitempty"`

	// ContinuedFrom is set when this conversation continues a past session
	// (persistent chat).
	ContinuedFrom *Continuation `json:"continuedFrom,omitempty"`

	// opened is true on the copy the replica that created the record holds.
	opened bool
	// firstContact is true on that copy when its opening also made the
	// customer's profile: the customer has no past interaction.
	firstContact bool
}

// RecordTask is one task of the conversation: a contact.
type RecordTask struct {
	Sid        string    `json:"taskSid"`
	Reason     string    `json:"reason"`
	CreatedAt  time.Time `json:"createdAt,omitzero"`
	QueueSid   string    `json:"queueSid,omitempty"`
	QueueName  string    `json:"queueName,omitempty"`
	WorkerSid  string    `json:"workerSid,omitempty"`
	WorkerName string    `json:"workerName,omitempty"`
	AcceptedAt time.Time `json:"acceptedAt,omitzero"`
	EndedAt    time.Time `json:"endedAt,omitzero"`
	// EndStatus is completed or canceled; EndReason is TaskRouter's reason.
	EndStatus string `json:"endStatus,omitempty"`
	EndReason string `json:"endReason,omitempty"`
}

// ProfileRef names the channel user profile an interaction is opened for,
// and the customer it is linked to, as they were when it opened.
type ProfileRef struct {
	ProfileID    string `json:"profileId,omitempty"`
	CustomerID   string `json:"customerId,omitempty"`
	CustomerName string `json:"customerName,omitempty"`
	// CustomerLinkedBy is the profile's, as it was when the record opened.
	CustomerLinkedBy string `json:"customerLinkedBy,omitempty"`
}

// ReasonNote is a hand-set state reason and the stay in a state it was set
// in: the state, and the task that put the record in it.
type ReasonNote struct {
	State   string `json:"state"`
	Episode string `json:"episode,omitempty"`
	Reason  string `json:"reason"`
}

// noteReason returns the note a hand-set reason makes now.
func (r *InteractionRecord) noteReason(reason string) *ReasonNote {
	state, _, episode := r.state()
	return &ReasonNote{State: state, Episode: episode, Reason: reason}
}

// Continuation links a conversation to the past session it continues.
type Continuation struct {
	// ContactID is the contact continued from (continuedFromContactId).
	ContactID       string `json:"contactId"`
	ConversationSid string `json:"conversationSid"`
	RehydrationType string `json:"rehydrationType"`
	// History is every past session the transcript shows, oldest first:
	// the continued session's own history, then that session up to
	// ContactID. Kept whole so that the transcript reads every session at
	// once instead of walking the chain one hop at a time.
	History []PastSession `json:"history"`
}

// PastSession is one past conversation a transcript shows, up to a contact.
type PastSession struct {
	ConversationSid string `json:"conversationSid"`
	// UpToContactID is the last contact shown; Until is when it ended (zero:
	// the whole session).
	UpToContactID string    `json:"upToContactId"`
	Until         time.Time `json:"until,omitzero"`
	// Contacts are the session's contacts shown, with their start and end
	// times, so that each message is attributed to the contact it was sent in.
	Contacts []RecordTask `json:"contacts"`
}

// taskFacts is what one TaskRouter event says about a task.
type taskFacts struct {
	Sid        string
	Reason     string
	CreatedAt  time.Time
	QueueSid   string
	QueueName  string
	WorkerSid  string
	WorkerName string
	AcceptedAt time.Time
	EndedAt    time.Time
	EndStatus  string
	EndReason  string
}

// recordTask adds what f says of a task to the record; it reports whether
// anything changed. Of two values of one fact the earliest is kept (the
// earliest accept, the earliest end: a task completed and later deleted
// ended when it completed), never the first recorded, so that the record
// is the same whatever order the events came in; replays change nothing.
func (r *InteractionRecord) recordTask(f taskFacts) bool {
	i := slices.IndexFunc(r.Tasks, func(t RecordTask) bool { return t.Sid == f.Sid })
	added := i < 0
	if added {
		r.Tasks = append(r.Tasks, RecordTask{Sid: f.Sid})
		i = len(r.Tasks) - 1
	}
	t, before := &r.Tasks[i], r.Tasks[i]
	// The most specific reason wins: an event whose attributes lost the
	// mark (a handler tidied them) must not make a transfer inbound.
	if reasonRank(f.Reason) > reasonRank(t.Reason) {
		t.Reason = f.Reason
	}
	setString(&t.QueueSid, f.QueueSid)
	setString(&t.QueueName, f.QueueName)
	if earlier(f.CreatedAt, t.CreatedAt) {
		t.CreatedAt = f.CreatedAt
	}
	if earlier(f.AcceptedAt, t.AcceptedAt) {
		t.AcceptedAt = f.AcceptedAt
		t.WorkerSid, t.WorkerName = f.WorkerSid, f.WorkerName
	}
	if earlier(f.EndedAt, t.EndedAt) || f.EndedAt.Equal(t.EndedAt) && endRank(f.EndStatus) < endRank(t.EndStatus) {
		t.EndedAt, t.EndStatus, t.EndReason = f.EndedAt, f.EndStatus, f.EndReason
	}
	changed := added || *t != before
	if changed {
		r.sortTasks()
	}
	return changed
}

// earlier reports whether a known time at comes before have (or have is
// not known yet).
func earlier(at, have time.Time) bool {
	return !at.IsZero() && (have.IsZero() || at.Before(have))
}

// reasonRank orders why a task began from the least to the most specific.
func reasonRank(reason string) int {
	switch reason {
	case "":
		return 0
	case ContactInbound:
		return 1
	default:
		return 2
	}
}

// endRank breaks a tie between two ends of a task at the same instant:
// what TaskRouter says happened to it before a deletion.
func endRank(status string) int {
	switch status {
	case "completed":
		return 0
	case "canceled":
		return 1
	case "deleted":
		return 3
	default:
		return 2
	}
}

// sortTasks orders the tasks by creation, a task whose creation is not
// known yet last. TaskRouter gives the creation to the second, and a
// transfer often makes a task in the second the previous one was accepted
// in: within a second, the task accepted first comes first (a task made
// from another is accepted after it), a task not accepted yet last, then
// the SID. The order depends on the facts only, never on the order they
// were recorded in.
func (r *InteractionRecord) sortTasks() {
	slices.SortFunc(r.Tasks, func(a, b RecordTask) int {
		if c := compareKnownFirst(a.CreatedAt, b.CreatedAt); c != 0 {
			return c
		}
		if c := compareKnownFirst(a.AcceptedAt, b.AcceptedAt); c != 0 {
			return c
		}
		return strings.Compare(a.Sid, b.Sid)
	})
}

// compareKnownFirst orders times, an unknown (zero) time after every known one.
func compareKnownFirst(a, b time.Time) int {
	switch az, bz := a.IsZero(), b.IsZero(); {
	case az && bz:
		return 0
	case az:
		return 1
	case bz:
		return -1
	}
	return a.Compare(b)
}

// recordFirstReply keeps the earliest agent reply (of two at the same
// instant, the author first in order, so that the order of the events does
// not matter).
func (r *InteractionRecord) recordFirstReply(at time.Time, author string) bool {
	if at.IsZero() {
		return false
	}
	if !r.FirstReplyAt.IsZero() && (at.After(r.FirstReplyAt) || at.Equal(r.FirstReplyAt) && author >= r.FirstReplyBy) {
		return false
	}
	r.FirstReplyAt, r.FirstReplyBy = at, author
	return true
}

// recordClosed keeps the earliest moment the conversation was seen closed:
// Twilio's state event says when it closed; a task ending on a closed
// conversation (when that event is not configured) can only say it was
// closed by then.
func (r *InteractionRecord) recordClosed(at time.Time) bool {
	if !earlier(at, r.ClosedAt) {
		return false
	}
	r.ClosedAt = at
	return true
}

// recordCloseKind records a deliberate close. A complete close (the close
// API, which refuses a record already Closed Abandoned) supersedes an
// abandon, whatever their order: the abandon is recorded as the inactivity
// timeout's close begins, and when that close fails the conversation goes
// on and may be closed by an agent later. Otherwise the first one stands.
func (r *InteractionRecord) recordCloseKind(kind string, at time.Time) bool {
	switch {
	case r.CloseKind == "":
	case r.CloseKind == closeAbandoned && kind == closeComplete:
	default:
		return false
	}
	r.CloseKind, r.CloseRequestedAt = kind, at
	return true
}

func setString(dst *string, v string) {
	if *dst == "" && v != "" {
		*dst = v
	}
}

// Interaction is the record as the API shows it: the stored facts with the
// derived state, reason, times and contact chain.
type Interaction struct {
	Number           string     `json:"number"`
	ConversationSid  string     `json:"conversationSid"`
	InteractionSid   string     `json:"interactionSid,omitempty"`
	Type             string     `json:"type"`
	State            string     `json:"state"`
	StateReason      string     `json:"stateReason,omitempty"`
	OpenedFor        ProfileRef `json:"openedFor"`
	CustomerAddress  string     `json:"customerAddress,omitempty"`
	AssignedTo       *Assignee  `json:"assignedTo,omitempty"`
	OpenedAt         *time.Time `json:"openedAt,omitempty"`
	ClosedAt         *time.Time `json:"closedAt,omitempty"`
	WaitTimeSeconds  *float64   `json:"waitTimeSeconds,omitempty"`
	WaitTimeSource   string     `json:"waitTimeSource,omitempty"`
	DurationSeconds  float64    `json:"durationSeconds"`
	ShortDescription string     `json:"shortDescription,omitempty"`
	// NeedsDescription is true on a record closed complete (in Flex, say)
	// without a short description: it is complete, but not documented.
	NeedsDescription bool      `json:"needsDescription,omitempty"`
	RelatedTasks     []Contact `json:"relatedTasks"`
	// ContinuedFromContactID is the past contact this conversation continues
	// (persistent chat).
	ContinuedFromContactID string `json:"continuedFromContactId,omitempty"`
}

// Assignee is the worker an interaction is (or was last) assigned to.
type Assignee struct {
	WorkerSid  string `json:"workerSid"`
	WorkerName string `json:"workerName,omitempty"`
}

// Contact is one task of the conversation in its contact chain.
type Contact struct {
	ContactID         string     `json:"contactId"`
	InitialContactID  string     `json:"initialContactId"`
	PreviousContactID string     `json:"previousContactId,omitempty"`
	NextContactID     string     `json:"nextContactId,omitempty"`
	RelatedContactID  string     `json:"relatedContactId,omitempty"`
	Reason            string     `json:"reason"`
	WorkerSid         string     `json:"workerSid,omitempty"`
	WorkerName        string     `json:"workerName,omitempty"`
	QueueName         string     `json:"queueName,omitempty"`
	StartedAt         *time.Time `json:"startedAt,omitempty"`
	AcceptedAt        *time.Time `json:"acceptedAt,omitempty"`
	EndedAt           *time.Time `json:"endedAt,omitempty"`
	EndStatus         string     `json:"endStatus,omitempty"`
}

// View derives the record's state, reason, times and contacts.
func (r *InteractionRecord) View() Interaction {
	v := Interaction{
		Number: r.Number, ConversationSid: r.ConversationSid, InteractionSid: r.InteractionSid, Type: r.Channel,
		OpenedFor: r.OpenedFor, CustomerAddress: r.CustomerAddress, ShortDescription: r.ShortDescription,
		RelatedTasks: r.Contacts(),
	}
	if r.ContinuedFrom != nil {
		v.ContinuedFromContactID = r.ContinuedFrom.ContactID
	}
	var episode string
	v.State, v.StateReason, episode = r.state()
	if n := r.ReasonNote; n != nil && n.State == v.State && n.Episode == episode {
		v.StateReason = n.Reason
	}
	v.NeedsDescription = v.State == StateClosedComplete && r.ShortDescription == ""
	if opened := r.OpenedAt(); !opened.IsZero() {
		v.OpenedAt = &opened
		if at, src := r.answeredAt(); !at.IsZero() {
			w := max(at.Sub(opened), 0).Seconds()
			v.WaitTimeSeconds, v.WaitTimeSource = &w, src
		}
	}
	if closed := r.closedAt(); !closed.IsZero() {
		v.ClosedAt = &closed
	}
	for _, t := range r.Tasks {
		if !t.AcceptedAt.IsZero() && !t.EndedAt.IsZero() {
			v.DurationSeconds += max(t.EndedAt.Sub(t.AcceptedAt), 0).Seconds()
		}
	}
	if t := r.assignee(); t != nil {
		v.AssignedTo = &Assignee{WorkerSid: t.WorkerSid, WorkerName: t.WorkerName}
	}
	return v
}

// OpenedAt is when the first task was created (zero when unknown).
func (r *InteractionRecord) OpenedAt() time.Time {
	var at time.Time
	for _, t := range r.Tasks {
		if !t.CreatedAt.IsZero() && (at.IsZero() || t.CreatedAt.Before(at)) {
			at = t.CreatedAt
		}
	}
	return at
}

// Closed reports whether the record is closed (complete or abandoned).
func (r *InteractionRecord) Closed() bool { return !r.closedAt().IsZero() }

// closedAt is when the conversation closed, or when a deliberate close was
// asked for if Twilio's close has not been seen yet.
func (r *InteractionRecord) closedAt() time.Time {
	if !r.ClosedAt.IsZero() {
		return r.ClosedAt
	}
	return r.CloseRequestedAt
}

// answeredAt is the first agent reply, else the first accept.
func (r *InteractionRecord) answeredAt() (time.Time, string) {
	if !r.FirstReplyAt.IsZero() {
		return r.FirstReplyAt, WaitFromFirstReply
	}
	var at time.Time
	for _, t := range r.Tasks {
		if !t.AcceptedAt.IsZero() && (at.IsZero() || t.AcceptedAt.Before(at)) {
			at = t.AcceptedAt
		}
	}
	if at.IsZero() {
		return at, ""
	}
	return at, WaitFromAccept
}

// state derives the state and its reason from the facts:
//
//   - closed: abandoned when the inactivity timeout closed it, else complete;
//   - a live task nobody accepted yet, newest of the live ones: a transfer
//     waits internally (On Hold), anything else is New;
//   - a live accepted task: Work in Progress;
//   - no live task after an agent worked it: the agent left it for the
//     customer (a park) — On Hold, waiting on the customer;
//   - otherwise New: nobody has handled it yet.
//
// episode names this stay in the state (the task that put the record in
// it), so that a hand-set reason shows only during the stay it was set in,
// not again the next time the record comes back to the same state.
func (r *InteractionRecord) state() (state, reason, episode string) {
	if r.Closed() {
		if r.CloseKind == closeAbandoned {
			return StateClosedAbandoned, ReasonTimedOut, "closed"
		}
		return StateClosedComplete, "", "closed"
	}
	var newest, working *RecordTask
	for i := range r.Tasks {
		t := &r.Tasks[i]
		if !t.EndedAt.IsZero() {
			continue
		}
		if !t.AcceptedAt.IsZero() {
			working = t
		}
		newest = t
	}
	switch {
	case newest != nil && newest.AcceptedAt.IsZero() && newest.Reason == ContactTransfer:
		return StateOnHold, ReasonWaitingInternal, newest.Sid
	case newest != nil && newest.AcceptedAt.IsZero() && working == nil:
		return StateNew, ReasonWaitingForAgent, newest.Sid
	case working != nil:
		return StateWorkInProgress, "", working.Sid
	}
	for i := len(r.Tasks) - 1; i >= 0; i-- {
		if t := r.Tasks[i]; !t.AcceptedAt.IsZero() {
			return StateOnHold, ReasonWaitingOnCustomer, t.Sid
		}
	}
	return StateNew, ReasonWaitingForAgent, ""
}

// assignee is the task of the worker the interaction is assigned to: the
// newest accepted live task, else the newest accepted one.
func (r *InteractionRecord) assignee() *RecordTask {
	var live, last *RecordTask
	for i := range r.Tasks {
		t := &r.Tasks[i]
		if t.AcceptedAt.IsZero() {
			continue
		}
		if t.EndedAt.IsZero() {
			live = t
		}
		last = t
	}
	if live != nil {
		return live
	}
	return last
}

// Contacts is the record's contact chain, oldest first.
func (r *InteractionRecord) Contacts() []Contact {
	out := make([]Contact, len(r.Tasks))
	for i, t := range r.Tasks {
		c := Contact{
			ContactID: t.Sid, InitialContactID: r.Tasks[0].Sid, Reason: t.Reason,
			WorkerSid: t.WorkerSid, WorkerName: t.WorkerName, QueueName: t.QueueName, EndStatus: t.EndStatus,
			StartedAt: timePtr(t.CreatedAt), AcceptedAt: timePtr(t.AcceptedAt), EndedAt: timePtr(t.EndedAt),
		}
		if i > 0 {
			c.PreviousContactID = r.Tasks[i-1].Sid
		}
		if i+1 < len(r.Tasks) {
			c.NextContactID = r.Tasks[i+1].Sid
		}
		if i == 0 && r.ContinuedFrom != nil {
			c.RelatedContactID = r.ContinuedFrom.ContactID
			if c.Reason == ContactInbound {
				c.Reason = ContactRehydrated
			}
		}
		out[i] = c
	}
	return out
}

// AssignedTo reports whether the worker is or was assigned any task of the
// interaction: what lets an agent read its record.
func (r *InteractionRecord) AssignedTo(workerSid string) bool {
	return workerSid != "" && slices.ContainsFunc(r.Tasks, func(t RecordTask) bool { return t.WorkerSid == workerSid })
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
