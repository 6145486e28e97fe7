package flex

import (
	"github.com/flexhooks/flexhooks/internal/emulator/conversations"
	"github.com/flexhooks/flexhooks/internal/emulator/taskrouter"
)

// installHooks plugs Flex's behaviour into the other products: what Flex's
// backend does when TaskRouter or Conversations change state.
func (s *Store) installHooks() {
	if s.tr != nil {
		s.tr.OnReservationAccepted = s.onReservationAccepted
		s.tr.OnTaskEnded = s.onTaskEnded
	}
	if s.conv != nil {
		s.conv.OnConversationClosed = s.onConversationClosed
	}
}

// channelOfTask finds the channel a task belongs to: one Flex made, else one
// its attributes point at (a task created through the TaskRouter API with
// Flex's attributes, as some transfer code does).
func (s *Store) channelOfTask(t *taskrouter.Task) *channel {
	if ch := s.taskChannel[t.Sid]; ch != nil {
		return ch
	}
	sid, _ := t.Attributes["flexInteractionChannelSid"].(string)
	ch := s.channels[sid]
	if ch == nil {
		return nil
	}
	if conv, _ := t.Attributes["conversationSid"].(string); conv != "" && conv != ch.ConversationSid {
		return nil
	}
	return ch
}

// onReservationAccepted does what Flex does when an agent accepts a
// conversation task: the worker joins the conversation (identity from its
// contact_uri) and the channel as an agent participant. It runs before
// TaskRouter sends reservation.accepted, so a handler of that event already
// finds the agent in both.
func (s *Store) onReservationAccepted(t *taskrouter.Task, r *taskrouter.Reservation, w *taskrouter.Worker) {
	ch := s.channelOfTask(t)
	if ch == nil || ch.Status == "closed" || w == nil || r == nil {
		return
	}
	if c := s.conv.Conversation(ch.ConversationSid); c == nil || c.State == "closed" {
		return
	}
	identity := s.tr.Identity(w)
	if _, err := s.conv.AddParticipant(ch.ConversationSid, conversations.ParticipantParams{Identity: identity}); err != nil && err.Code != codeParticipantExists {
		s.unexpected("adding the accepting agent to the conversation", err)
	}
	s.addParticipant(ch, &participant{
		Type:            "agent",
		MediaProperties: map[string]any{"identity": identity},
		TaskSid:         t.Sid,
		WorkerSid:       w.Sid,
		ReservationSid:  r.Sid,
		WorkspaceSid:    t.WorkspaceSid,
		Identity:        identity,
	})
	if _, known := s.taskChannel[t.Sid]; !known {
		s.taskChannel[t.Sid] = ch
	}
	if ch.Status == "inactive" {
		ch.Status = "active"
	}
}

// onTaskEnded keeps the channel in step when a task ends by another path
// (the TaskRouter API, a timeout): its agent participant is closed. The agent
// stays in the conversation: the emulator removes agents only when the
// Interactions API closes their participant, Twilio's documented way to end a
// conversation task, so code that completes the task directly shows its gap.
func (s *Store) onTaskEnded(t *taskrouter.Task) {
	pt := s.taskAgent[t.Sid]
	if pt == nil || pt.Status == "closed" {
		return
	}
	pt.Status = "closed"
	pt.DateUpdated = s.env.Now()
}

// onConversationClosed is Flex reacting to a conversation that closed (its
// inactivity timer, a REST update): the channel closes and its assigned tasks
// go to wrapping, so the agent wraps up; tasks still waiting are canceled.
func (s *Store) onConversationClosed(c *conversations.Conversation) {
	ch := s.convChannel[c.Sid]
	if ch == nil || ch.Status == "closed" {
		return
	}
	ch.Status = "closed"
	ch.DateUpdated = s.env.Now()
	s.endChannelTasks(ch, "wrapping", "Conversation closed")
}
