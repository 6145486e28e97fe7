package webhooks

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestInactivityDecide(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	rec := &InactivityRecord{ConversationSid: "CH1", InteractionSid: "KD1", ChannelSid: "UO1", ChannelType: "sms", CustomerAddress: "+1555"}
	msg := func(author string, at time.Time, kind string) Message {
		m := Message{Author: author, DateCreated: at, Attributes: "{}"}
		if kind != "" {
			m.Attributes = `{"` + messageMarker + `":"` + kind + `"}`
		}
		return m
	}
	marked := func(at time.Time) string {
		s, _ := withMark(`{"other":1}`, &inactivityMark{WarnedAt: at})
		return s
	}
	parked := `{"flexhooksPark":{"interactionSid":"KD1","channelSid":"UO1"}}`
	noWarning := InactivityConfig{TimeoutFor: func(string) time.Duration { return 30 * time.Minute }}
	withWarning := noWarning
	withWarning.Warning = 25 * time.Minute
	withWarning.WarningMessage = "still there?"

	tests := []struct {
		name         string
		cfg          InactivityConfig
		conv         Conversation
		rec          *InactivityRecord
		msgs         []Message
		want         inactivityAction
		wantNotified bool
	}{
		{"timeout closes", noWarning, Conversation{State: "inactive"}, rec, nil, actClose, false},
		{"active again: a message came", noWarning, Conversation{State: "active"}, rec, []Message{msg("+1555", t0, "")}, actNone, false},
		{"closed already", noWarning, Conversation{State: "closed"}, rec, nil, actNone, false},
		{"parked", noWarning, Conversation{State: "inactive", Attributes: parked}, rec, nil, actNone, false},
		{"no agent ever", noWarning, Conversation{State: "inactive"}, nil, nil, actNone, false},
		{"a close whose notice went out is finished", noWarning, Conversation{State: "active"}, rec,
			[]Message{msg("", t0, "closing")}, actClose, true},
		{"an older notice is not this close's", noWarning, Conversation{State: "active"}, rec,
			[]Message{msg("", t0.Add(-time.Minute), "closing")}, actNone, false},
		{"first inactivity warns", withWarning, Conversation{State: "inactive"}, rec, nil, actWarn, false},
		{"silent since the warning closes", withWarning, Conversation{State: "inactive", Attributes: marked(t0.Add(-5 * time.Minute))}, rec,
			[]Message{msg("", t0.Add(-5*time.Minute), "warning"), msg("+1555", t0.Add(-30*time.Minute), "")}, actClose, false},
		{"a reply after the warning rearms", withWarning, Conversation{State: "inactive", Attributes: marked(t0.Add(-10 * time.Minute))}, rec,
			[]Message{msg("+1555", t0.Add(-5*time.Minute), ""), msg("", t0.Add(-10*time.Minute), "warning")}, actRearm, false},
		{"an agent's reply counts too", withWarning, Conversation{State: "inactive", Attributes: marked(t0.Add(-10 * time.Minute))}, rec,
			[]Message{msg("alice", t0.Add(-5*time.Minute), ""), msg("", t0.Add(-10*time.Minute), "warning")}, actRearm, false},
		{"a warning whose update failed is finished", withWarning, Conversation{State: "active"}, rec,
			[]Message{msg("", t0, "warning")}, actWarn, true},
		{"a finished warning is not redone", withWarning, Conversation{State: "active", Attributes: marked(t0)}, rec,
			[]Message{msg("", t0, "warning")}, actNone, false},
		{"a warning that failed beside its re-arm is sent", withWarning, Conversation{State: "active", Attributes: marked(t0)}, rec,
			[]Message{msg("+1555", t0.Add(-25*time.Minute), "")}, actWarn, false},
		{"not when someone wrote since", withWarning, Conversation{State: "active", Attributes: marked(t0)}, rec,
			[]Message{msg("+1555", t0.Add(time.Minute), "")}, actNone, false},
		{"parked beats a warning mark", withWarning, Conversation{State: "inactive", Attributes: parked}, rec, nil, actNone, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := NewInactivity(nil, tc.cfg, nil)
			got, notified, why := in.decide(tc.conv, IsParked(tc.conv.Attributes), tc.rec, tc.msgs, t0)
			assert.Equal(t, tc.want, got, why)
			assert.Equal(t, tc.wantNotified, notified, why)
		})
	}
}

func TestInactivityTimers(t *testing.T) {
	tests := []struct {
		name                  string
		timeout, warning      time.Duration
		wantFirst, wantWarnAt time.Duration
	}{
		{"no timeout", 0, 0, 0, 0},
		{"timeout only", 30 * time.Minute, 0, 30 * time.Minute, 0},
		{"warning first", 30 * time.Minute, 25 * time.Minute, 25 * time.Minute, 25 * time.Minute},
		{"a warning leaving under a minute is not given", 30 * time.Minute, 29*time.Minute + 30*time.Second, 30 * time.Minute, 0},
		{"a warning after the timeout is not given", 30 * time.Minute, 40 * time.Minute, 30 * time.Minute, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := NewInactivity(nil, InactivityConfig{TimeoutFor: func(string) time.Duration { return tc.timeout }, Warning: tc.warning}, nil)
			assert.Equal(t, tc.wantFirst, in.firstTimer("sms"))
			assert.Equal(t, tc.wantWarnAt, in.warningFor(tc.timeout))
		})
	}
}

func TestCustomerWroteSince(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	since := t0.Add(-24 * time.Hour)
	tests := []struct {
		name     string
		customer string
		msgs     []Message
		want     bool
	}{
		{"customer wrote an hour ago", "whatsapp:+1", []Message{{Author: "alice", DateCreated: t0}, {Author: "whatsapp:+1", DateCreated: t0.Add(-time.Hour)}}, true},
		{"customer wrote 25 hours ago", "whatsapp:+1", []Message{{Author: "alice", DateCreated: t0}, {Author: "whatsapp:+1", DateCreated: t0.Add(-25 * time.Hour)}}, false},
		{"no messages", "whatsapp:+1", nil, false},
		{"unknown customer: try text", "", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, customerWroteSince(tc.msgs, tc.customer, since))
		})
	}
}

func TestWarningMarkKeepsOtherAttributes(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s, err := withMark(`{"b":{"x":[1,2]},"a":"keep"}`, &inactivityMark{WarnedAt: at})
	assert.NoError(t, err)
	assert.JSONEq(t, `{"a":"keep","b":{"x":[1,2]},"flexhooksInactivity":{"warnedAt":"2026-01-01T00:00:00Z"}}`, s)
	assert.Equal(t, at, markFromAttributes(s).WarnedAt)
	s, err = withMark(s, nil)
	assert.NoError(t, err)
	assert.JSONEq(t, `{"a":"keep","b":{"x":[1,2]}}`, s)
	assert.Nil(t, markFromAttributes(s))
}
