package conversations

import (
	"time"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

// Snapshot views, for GET /emulator/state: camelCase like the rest of the
// control API, attributes parsed when they are JSON so they read as objects.

type snapshot struct {
	DefaultServiceSid string               `json:"defaultServiceSid"`
	Services          []serviceSnapshot    `json:"services"`
	AccountWebhooks   accountWebhookConfig `json:"accountWebhooks"`
	Conversations     []convSnapshot       `json:"conversations"`
}

type serviceSnapshot struct {
	Sid          string               `json:"sid"`
	FriendlyName string               `json:"friendlyName"`
	Webhooks     serviceWebhookConfig `json:"webhooks"`
}

type convSnapshot struct {
	Sid          string            `json:"sid"`
	ServiceSid   string            `json:"serviceSid"`
	FriendlyName string            `json:"friendlyName,omitempty"`
	UniqueName   string            `json:"uniqueName,omitempty"`
	State        string            `json:"state"`
	Attributes   string            `json:"attributes"`
	DateCreated  string            `json:"dateCreated"`
	DateUpdated  string            `json:"dateUpdated"`
	Timers       timersSnapshot    `json:"timers"`
	Participants []participantSnap `json:"participants"`
	Messages     []messageSnap     `json:"messages"`
	Webhooks     []webhookSnap     `json:"webhooks"`
}

type timersSnapshot struct {
	Inactive     string  `json:"inactive,omitempty"` // ISO duration as configured, e.g. PT5M
	Closed       string  `json:"closed,omitempty"`
	DateInactive *string `json:"dateInactive"`
	DateClosed   *string `json:"dateClosed"`
}

type participantSnap struct {
	Sid          string `json:"sid"`
	Identity     string `json:"identity,omitempty"`
	Address      string `json:"address,omitempty"`
	ProxyAddress string `json:"proxyAddress,omitempty"`
	Attributes   string `json:"attributes"`
	DateCreated  string `json:"dateCreated"`
}

type messageSnap struct {
	Sid            string `json:"sid"`
	Index          int    `json:"index"`
	Author         string `json:"author"`
	Body           string `json:"body"`
	Attributes     string `json:"attributes"`
	ParticipantSid string `json:"participantSid,omitempty"`
	Source         string `json:"source"`
	DateCreated    string `json:"dateCreated"`
}

type webhookSnap struct {
	Sid      string   `json:"sid"`
	Target   string   `json:"target"`
	URL      string   `json:"url,omitempty"`
	Method   string   `json:"method,omitempty"`
	Filters  []string `json:"filters,omitempty"`
	Triggers []string `json:"triggers,omitempty"`
	FlowSid  string   `json:"flowSid,omitempty"`
}

// Snapshot is the product's part of GET /emulator/state.
func (s *Store) Snapshot() any {
	out := snapshot{
		DefaultServiceSid: s.defaultService,
		AccountWebhooks:   s.account,
		Services:          []serviceSnapshot{},
		Conversations:     []convSnapshot{},
	}
	out.Services = append(out.Services, serviceSnapshot{Sid: s.defaultService, FriendlyName: s.services[s.defaultService].FriendlyName, Webhooks: s.services[s.defaultService].Webhooks})
	for sid, sv := range s.services {
		if sid != s.defaultService {
			out.Services = append(out.Services, serviceSnapshot{Sid: sid, FriendlyName: sv.FriendlyName, Webhooks: sv.Webhooks})
		}
	}
	for _, c := range s.order {
		cs := convSnapshot{
			Sid: c.Sid, ServiceSid: c.ServiceSid, FriendlyName: c.FriendlyName, UniqueName: c.UniqueName,
			State: c.State, Attributes: c.Attributes,
			DateCreated: core.ISO(c.DateCreated), DateUpdated: core.ISO(c.DateUpdated),
			Timers: timersSnapshot{
				Inactive: isoDuration(c.InactiveAfter), Closed: isoDuration(c.ClosedAfter),
				DateInactive: core.ISOPtr(c.DateInactive), DateClosed: core.ISOPtr(c.DateClosed),
			},
			Participants: []participantSnap{}, Messages: []messageSnap{}, Webhooks: []webhookSnap{},
		}
		for _, p := range c.participants {
			cs.Participants = append(cs.Participants, participantSnap{Sid: p.Sid, Identity: p.Identity, Address: p.Address,
				ProxyAddress: p.ProxyAddress, Attributes: p.Attributes, DateCreated: core.ISO(p.DateCreated)})
		}
		for _, m := range c.messages {
			cs.Messages = append(cs.Messages, messageSnap{Sid: m.Sid, Index: m.Index, Author: m.Author, Body: m.Body,
				Attributes: m.Attributes, ParticipantSid: m.ParticipantSid, Source: m.Source, DateCreated: core.ISO(m.DateCreated)})
		}
		for _, w := range c.webhooks {
			cs.Webhooks = append(cs.Webhooks, webhookSnap{Sid: w.Sid, Target: w.Target, URL: w.URL, Method: w.Method,
				Filters: w.Filters, Triggers: w.Triggers, FlowSid: w.FlowSid})
		}
		out.Conversations = append(out.Conversations, cs)
	}
	return out
}

// isoDuration renders a timer duration back as ISO 8601 (PT1H30M), "" for none.
func isoDuration(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	d = d.Round(time.Second)
	out := "P"
	if days := d / (24 * time.Hour); days > 0 {
		out += core.Itoa(int(days)) + "D"
		d -= days * 24 * time.Hour
	}
	if d == 0 {
		return out
	}
	out += "T"
	if h := d / time.Hour; h > 0 {
		out += core.Itoa(int(h)) + "H"
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 {
		out += core.Itoa(int(m)) + "M"
		d -= m * time.Minute
	}
	if d > 0 {
		out += core.Itoa(int(d/time.Second)) + "S"
	}
	return out
}
