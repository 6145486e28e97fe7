package conversations

import (
	"net/http"
	"time"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

// Twilio's minimum timer durations.
const (
	minInactive = time.Minute
	minClosed   = 10 * time.Minute
)

// parseTimers reads Timers.Inactive / Timers.Closed. set reports which were
// sent: an empty value is accepted and turns that timer off.
func parseTimers(f core.Params) (inactive, closed time.Duration, setInactive, setClosed bool, err *core.Error) {
	if f.Has("Timers.Inactive") {
		setInactive = true
		if inactive, err = f.Duration("Timers.Inactive"); err != nil {
			return
		}
		if f.Get("Timers.Inactive") != "" && inactive < minInactive {
			err = core.Errf(http.StatusBadRequest, core.CodeInvalidParameter, "Invalid parameter Timers.Inactive: the minimum is PT1M")
			return
		}
	}
	if f.Has("Timers.Closed") {
		setClosed = true
		if closed, err = f.Duration("Timers.Closed"); err != nil {
			return
		}
		if f.Get("Timers.Closed") != "" && closed < minClosed {
			err = core.Errf(http.StatusBadRequest, core.CodeInvalidParameter, "Invalid parameter Timers.Closed: the minimum is PT10M")
		}
	}
	return
}

// armTimers (re)starts the conversation's timers from now: an activity (a
// message, a state change to active, new timer values) restarts both. The
// inactive timer only runs while the conversation is active; the closed timer
// runs while it is active or inactive.
func (s *Store) armTimers(c *Conversation) {
	s.stopTimers(c)
	now := s.env.Now()
	if c.State == "active" && c.InactiveAfter > 0 {
		c.DateInactive = now.Add(c.InactiveAfter)
		c.inactiveTimer = s.env.Schedule(c.DateInactive, func() { s.inactiveDue(c) })
	}
	if c.State != "closed" && c.ClosedAfter > 0 {
		c.DateClosed = now.Add(c.ClosedAfter)
		c.closedTimer = s.env.Schedule(c.DateClosed, func() { s.closedDue(c) })
	}
}

func (s *Store) stopTimers(c *Conversation) {
	s.stopInactive(c)
	c.closedTimer.Stop()
	c.closedTimer = nil
	c.DateClosed = time.Time{}
}

func (s *Store) stopInactive(c *Conversation) {
	c.inactiveTimer.Stop()
	c.inactiveTimer = nil
	c.DateInactive = time.Time{}
}

func (s *Store) inactiveDue(c *Conversation) {
	c.inactiveTimer = nil
	c.DateInactive = time.Time{}
	if s.convs[c.Sid] != c || c.State != "active" {
		return
	}
	s.setState(c, "inactive", "TIMER", true, "")
}

func (s *Store) closedDue(c *Conversation) {
	c.closedTimer = nil
	c.DateClosed = time.Time{}
	if s.convs[c.Sid] != c || c.State == "closed" {
		return
	}
	s.setState(c, "closed", "TIMER", true, "")
}

// setState moves c to state `to` and, when notify, sends
// onConversationStateUpdated with StateFrom/StateTo/Reason. It keeps the
// timers consistent with the new state.
func (s *Store) setState(c *Conversation, to, reason string, notify bool, source string) {
	from := c.State
	if from == to {
		return
	}
	c.State = to
	c.DateUpdated = s.env.Now()
	switch to {
	case "closed":
		s.stopTimers(c)
	case "inactive":
		s.stopInactive(c)
	case "active":
		s.armTimers(c)
	}
	if notify {
		p := conversationParams(c, source)
		p.Set("StateFrom", from)
		p.Set("StateTo", to)
		p.Set("Reason", reason)
		p.Set("StateUpdated", core.ISO(c.DateUpdated))
		s.emit(c, evConversationStateUpdated, p, nil)
	}
	if to == "closed" && s.OnConversationClosed != nil {
		s.OnConversationClosed(c)
	}
}
