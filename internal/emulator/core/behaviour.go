package core

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Behaviour holds the emulator's choices where Twilio leaves one open, as
// switches: documented limits that a test may turn off (only a test that says
// why), and undocumented behaviours the service must survive either way
// (variants). docs/twilio-behaviour.md gives the source of each. It is set
// from the seed ("behaviour") and through the control API
// (GET/PATCH /emulator/behaviour), and read by the products under the world
// lock.
type Behaviour struct {
	// SyncRateLimits enforces Sync's per-object read and write rates
	// (20/s sustained, 10-second burst window), answering 429 / 54009.
	// Documented: on by default.
	SyncRateLimits bool `json:"syncRateLimits"`

	// ClosedParticipantsListed: an interaction channel's participant closed
	// by an update (a parked or transferred agent) still appears in the
	// participants list. Undocumented (the list's schema has no status
	// field, so a reader cannot tell it is closed); false drops it.
	ClosedParticipantsListed bool `json:"closedParticipantsListed"`

	// InactiveTimerRestartsOnMessage: every message restarts an active
	// conversation's Timers.Inactive. Undocumented (the docs only say a
	// message makes an inactive conversation active); false keeps the timer
	// counting from when it was armed.
	InactiveTimerRestartsOnMessage bool `json:"inactiveTimerRestartsOnMessage"`

	// TaskRouterEventTimestamps: TaskRouter event callbacks carry
	// TimestampMs and TaskDateCreated. Undocumented (the event reference
	// lists Timestamp only); false leaves both out.
	TaskRouterEventTimestamps bool `json:"taskRouterEventTimestamps"`

	// MessageAddedSource: onMessageAdded (and the other message events)
	// carry Source. Undocumented for every channel; false leaves it out.
	MessageAddedSource bool `json:"messageAddedSource"`

	// TaskListAttributes: a TaskRouter task list shows each task's
	// attributes. Twilio's spec (taskrouter v1 Task, attributes) says they
	// are displayed only when a single task is fetched and are null
	// otherwise; true is the emulator's long-standing choice, false lists
	// them as null.
	TaskListAttributes bool `json:"taskListAttributes"`
}

// DefaultBehaviour is what the emulator starts with: documented limits on,
// and for undocumented behaviours the emulator's long-standing choice.
// WorstCaseBehaviour is the other side of each variant.
func DefaultBehaviour() Behaviour {
	return Behaviour{
		SyncRateLimits:                 true,
		ClosedParticipantsListed:       false,
		InactiveTimerRestartsOnMessage: true,
		TaskRouterEventTimestamps:      true,
		MessageAddedSource:             true,
		TaskListAttributes:             true,
	}
}

// WorstCaseBehaviour turns every undocumented variant to the side that gives
// the service less to go on: closed participants still listed (stale agents
// to tell apart), a message that does not restart the inactivity timer,
// events without the optional fields and task lists without attributes.
// Documented limits stay on.
func WorstCaseBehaviour() Behaviour {
	return Behaviour{SyncRateLimits: true, ClosedParticipantsListed: true}
}

// Patch applies the fields present in a JSON object to b; unknown fields
// are errors, so a typo does not silently keep the old value.
func (b *Behaviour) Patch(raw []byte) error {
	next := *b
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&next); err != nil {
		return fmt.Errorf("behaviour: %w", err)
	}
	*b = next
	return nil
}
