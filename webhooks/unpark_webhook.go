package webhooks

import (
	"context"
	"strings"
)

// MessageAddedEvent is Twilio's onMessageAdded event as the unpark webhook
// receives it (form-encoded, signed), plus the customer hint the park put in
// the webhook's URL.
type MessageAddedEvent struct {
	EventType       string `json:"EventType" form:"EventType"`
	ConversationSid string `json:"ConversationSid" form:"ConversationSid"`
	MessageSid      string `json:"MessageSid" form:"MessageSid"`
	WebhookSid      string `json:"WebhookSid" form:"WebhookSid"`
	Author          string `json:"Author" form:"Author"`
	ParticipantSid  string `json:"ParticipantSid" form:"ParticipantSid"`
	// Source is how the message entered: SDK, API, SMS, WHATSAPP…
	Source string `json:"Source" form:"Source"`
	// Customer is the "customer" query parameter of the webhook URL: a
	// digest of the customer's identity (see customerHint).
	Customer string `json:"customer" form:"customer" query:"customer"`
}

func (e *MessageAddedEvent) validate() error {
	f := fieldErrors{}
	f.sid("ConversationSid", e.ConversationSid, "CH")
	f.sid("WebhookSid", e.WebhookSid, "WH")
	return f.err()
}

// authorIsCustomer decides whether a message was written by the customer.
// With the park's hint, the author's digest must match it; without one (a
// webhook made by flex-project-template's function), the author must be the
// customer of the park record. Messages by agents (their identity), by the
// system, or by this service (API messages with another author) never match.
func authorIsCustomer(ev MessageAddedEvent, rec *ParkRecord) bool {
	if ev.Author == "" {
		return false
	}
	if ev.Customer != "" {
		return customerHint(ev.Author) == ev.Customer
	}
	if rec == nil {
		return false
	}
	if id := customerIdentity(rec.TaskAttributes); id != "" {
		return strings.EqualFold(id, ev.Author)
	}
	// A record that does not name the customer (flexhooks refuses to make
	// one): only a message that came in over a customer channel counts.
	return isChannelSource(ev.Source)
}

// isChannelSource reports a message that entered from a customer channel
// (SMS, WhatsApp, Messenger…) rather than through an SDK or the REST API,
// where agents and services write.
func isChannelSource(source string) bool {
	switch strings.ToUpper(source) {
	case "", "SDK", "API":
		return false
	}
	return true
}

// UnparkWebhook handles onMessageAdded on a parked conversation: a message
// from the customer routes the conversation again, exactly once however many
// messages arrive together, however often Twilio retries, and however many
// replicas receive them. Three sequential round trips:
//
//  1. delete this webhook — the claim: one caller wins, every other gets
//     404 and does nothing — ‖ fetch the conversation;
//  2. invite ‖ clear the park key ‖ delete the list item;
//  3. delete the park claim, once the invite is made (see resume).
//
// A failed invite puts the park back and answers an error (5xx): the
// conversation stays parked and the customer's next message resumes it.
func (p *Parks) UnparkWebhook(ctx context.Context, ev MessageAddedEvent) (*UnparkResponse, error) {
	if ev.EventType != "" && ev.EventType != "onMessageAdded" {
		return &UnparkResponse{ConversationSid: ev.ConversationSid, Reason: ReasonIgnoredEvent}, nil
	}
	if err := ev.validate(); err != nil {
		return nil, err
	}
	csid := ev.ConversationSid
	logSids(ctx, "conversationSid", csid, "messageSid", ev.MessageSid, "webhookSid", ev.WebhookSid)
	noop := func(reason string) (*UnparkResponse, error) {
		return &UnparkResponse{ConversationSid: csid, Reason: reason}, nil
	}

	var (
		conv              Conversation
		convErr, claimErr error
	)
	claim := func() {
		claimErr = retryFailed(ctx, func() error { return p.tw.DeleteConversationWebhook(ctx, csid, ev.WebhookSid) })
	}
	fetch := func() { conv, convErr = p.tw.FetchConversation(ctx, csid) }
	// The webhook to put back if this request claims it and cannot finish:
	// the same URL, hint included; without a hint, restorePark derives one
	// from the record.
	hookURL := ""
	if ev.Customer != "" {
		hookURL = p.unparkURL(ev.Customer)
	}
	if ev.Customer != "" {
		// The author is decided from the event alone: claim and fetch together.
		if !authorIsCustomer(ev, nil) {
			return noop(ReasonNotCustomer)
		}
		parallel(claim, fetch)
	} else {
		// A webhook without the hint: the record says who the customer is,
		// so it must be read before the claim (one more round trip).
		fetch()
		if convErr != nil {
			return nil, conversationError(csid, convErr)
		}
		rec, _ := parkFromAttributes(conv.Attributes)
		if !authorIsCustomer(ev, rec) {
			return noop(ReasonNotCustomer)
		}
		claim()
	}
	if isNotFound(claimErr) {
		return noop(ReasonAlreadyUnparked)
	}
	if claimErr != nil {
		// The webhook is still there, or its delete's answer was lost
		// after Twilio did it: the customer's next message, or the
		// sweeper (a park whose webhook stays missing), takes it from here.
		// (A retry that found it gone answered 404 above: that delete may
		// have been this request's, or a concurrent one's; the sweeper
		// tells them apart.)
		return nil, claimErr
	}

	// This request holds the claim: from here on, a failure must put a
	// webhook back, or the customer would be stranded.
	if convErr != nil {
		if isNotFound(convErr) {
			return noop(ReasonNotParked) // the conversation is gone
		}
		p.recreateWebhook(ctx, csid, hookURL)
		return nil, convErr
	}
	if conv.State == "closed" {
		return noop(ReasonClosed)
	}
	rec, _ := parkFromAttributes(conv.Attributes)
	if rec == nil {
		var reason string
		rec, reason = p.parkFromClaim(ctx, csid, hookURL)
		if rec == nil {
			return noop(reason)
		}
	}
	logSids(ctx, "taskSid", rec.TaskSid, "interactionSid", rec.InteractionSid, "workerSid", rec.WorkerSid)
	invite, err := p.resume(ctx, conv, *rec, Webhook{Sid: ev.WebhookSid, URL: hookURL}, UnparkByCustomer, false)
	if err != nil {
		return nil, err
	}
	return &UnparkResponse{Unparked: true, ConversationSid: csid, InviteSid: invite}, nil
}

// parkFromClaim handles a claimed webhook on a conversation whose attributes
// hold no park record, deciding from the park's claim item:
//   - no claim: the webhook was a leftover (of a park that failed and could
//     not remove it); it is gone now, which is right;
//   - a young claim: a park is between its two round trips (the customer
//     wrote while the agent was parking); the webhook is put back so the
//     park that is finishing keeps a way back;
//   - an old claim: a park whose attributes write failed; the claim holds
//     the record, and the conversation is resumed from it, unless its
//     agent is still in the conversation (the park never finished).
func (p *Parks) parkFromClaim(ctx context.Context, csid, hookURL string) (*ParkRecord, string) {
	item, err := p.claims.fetch(ctx, p.tw, ParkClaimMap, csid)
	if isNotFound(err) {
		return nil, ReasonNotParked
	}
	var rec ParkRecord
	if err == nil && decodeJSON(item.Data, &rec) == nil && rec.InteractionSid != "" &&
		!item.DateCreated.IsZero() && p.now().Sub(item.DateCreated) > p.cfg.StaleClaimAfter {
		if active, err := p.agentServes(ctx, rec); err == nil && active {
			// Not a park at all: one that failed before the agent left,
			// or was overtaken (a transfer), and whose undo failed too. The agent has the message; the
			// sweeper undoes the rest (park_unfinished).
			return nil, ReasonNotParked
		}
		return &rec, ""
	}
	// In doubt (a young claim, or the claim cannot be read), keep the way back.
	p.recreateWebhook(ctx, csid, hookURL)
	return nil, ReasonParkInProgress
}

// recreateWebhook puts an unpark webhook back after this request claimed it
// and could not finish.
func (p *Parks) recreateWebhook(ctx context.Context, csid, hookURL string) {
	uctx, cancel := p.undoContext(ctx)
	defer cancel()
	if hookURL == "" {
		hookURL = p.unparkURL("") // no record to derive a hint from: the record decides later
	}
	if _, err := p.tw.CreateConversationWebhook(uctx, csid, Webhook{Target: "webhook", URL: hookURL, Method: "POST", Filters: []string{"onMessageAdded"}}); err != nil {
		p.log.ErrorContext(ctx, "unpark: could not put the unpark webhook back; the conversation can be resumed from the parked list only",
			"conversationSid", csid, "err", err)
	}
}
