package webhooks

import (
	"context"
	"net/url"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flexhooks/flexhooks"
)

const testWorkspace = "WS00000000000000000000000000000001"

func setupPark(t *testing.T) (*fakeTwilio, *Parks, ParkRequest, context.Context) {
	t.Helper()
	f := newFakeTwilio()
	req := validParkRequest()
	f.convs[req.ConversationSid] = &Conversation{Sid: req.ConversationSid, State: "active", Attributes: `{"other":{"keep":true}}`}
	f.seat(testRecord(), "alice")
	p := NewParks(f, ParkConfig{PublicBaseURL: "https://fh.example.com", WorkspaceSid: testWorkspace, ParkedList: true}, nil)
	ctx := flexhooks.WithCaller(context.Background(), flexhooks.Caller{WorkerSid: req.WorkerSid, Identity: "alice"})
	return f, p, req, ctx
}

func customerEvent(t *testing.T, f *fakeTwilio, csid, author string) MessageAddedEvent {
	t.Helper()
	h := f.firstHook(csid)
	require.NotEmpty(t, h.Sid, "an unpark webhook exists")
	u, err := url.Parse(h.URL)
	require.NoError(t, err)
	return MessageAddedEvent{EventType: "onMessageAdded", ConversationSid: csid, WebhookSid: h.Sid, Author: author, Source: "WHATSAPP", Customer: u.Query().Get("customer")}
}

func TestParkThenCustomerUnpark(t *testing.T) {
	f, p, req, ctx := setupPark(t)
	resp, err := p.Park(ctx, req)
	require.NoError(t, err)
	assert.True(t, resp.Parked)
	assert.False(t, resp.AlreadyParked)
	csid := req.ConversationSid
	assert.Equal(t, 1, f.hookCount(csid))
	assert.True(t, f.closed[req.ParticipantSid])
	assert.True(t, IsParked(f.attrs(csid)))
	assert.Contains(t, f.attrs(csid), `"other":{"keep":true}`)
	assert.True(t, f.hasItem(ParkClaimMap, csid))
	assert.True(t, f.hasItem(ParkedListMap(req.WorkerSid), csid))

	// Parking again changes nothing.
	again, err := p.Park(ctx, req)
	require.NoError(t, err)
	assert.True(t, again.AlreadyParked)
	assert.Equal(t, 1, f.hookCount(csid))

	// The agent's message does not unpark.
	agent := customerEvent(t, f, csid, "alice")
	got, err := p.UnparkWebhook(context.Background(), agent)
	require.NoError(t, err)
	assert.Equal(t, ReasonNotCustomer, got.Reason)
	assert.Equal(t, 1, f.hookCount(csid))

	ev := customerEvent(t, f, csid, "+1555")
	got, err = p.UnparkWebhook(context.Background(), ev)
	require.NoError(t, err)
	assert.True(t, got.Unparked)
	assert.Equal(t, 1, f.inviteCount())
	assert.Equal(t, 0, f.hookCount(csid))
	assert.False(t, IsParked(f.attrs(csid)))
	assert.Contains(t, f.attrs(csid), `"other":{"keep":true}`)
	assert.False(t, f.hasItem(ParkClaimMap, csid))
	assert.False(t, f.hasItem(ParkedListMap(req.WorkerSid), csid))

	// A replay of the same delivery is a no-op.
	got, err = p.UnparkWebhook(context.Background(), ev)
	require.NoError(t, err)
	assert.Equal(t, ReasonAlreadyUnparked, got.Reason)
	assert.Equal(t, 1, f.inviteCount())
}

func TestConcurrentCustomerMessagesInviteOnce(t *testing.T) {
	f, p, req, ctx := setupPark(t)
	_, err := p.Park(ctx, req)
	require.NoError(t, err)
	ev := customerEvent(t, f, req.ConversationSid, "+1555")
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			_, err := p.UnparkWebhook(context.Background(), ev)
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	assert.Equal(t, 1, f.inviteCount())
}

func TestConcurrentParksMakeOnePark(t *testing.T) {
	f, p, req, ctx := setupPark(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	fresh := 0
	for range 10 {
		wg.Go(func() {
			resp, err := p.Park(ctx, req)
			if assert.NoError(t, err) && !resp.AlreadyParked {
				mu.Lock()
				fresh++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 1, fresh)
	assert.Equal(t, 1, f.hookCount(req.ConversationSid), "the losers removed their webhooks")
}

func TestParkCloseFailureUndoesEverything(t *testing.T) {
	f, p, req, ctx := setupPark(t)
	before := f.attrs(req.ConversationSid)
	f.fail["CloseInteractionParticipant"] = &flexhooks.Error{Code: flexhooks.EUPSTREAM, Message: "boom", TwilioCode: 20500}
	_, err := p.Park(ctx, req)
	require.Error(t, err)
	assert.Equal(t, flexhooks.EUPSTREAM, flexhooks.ErrorCode(err))
	assert.Equal(t, 0, f.hookCount(req.ConversationSid))
	assert.JSONEq(t, before, f.attrs(req.ConversationSid))
	assert.False(t, f.hasItem(ParkClaimMap, req.ConversationSid))
	assert.False(t, f.hasItem(ParkedListMap(req.WorkerSid), req.ConversationSid))

	// And the park works once Twilio does.
	delete(f.fail, "CloseInteractionParticipant")
	resp, err := p.Park(ctx, req)
	require.NoError(t, err)
	assert.False(t, resp.AlreadyParked)
}

func TestUnparkInviteFailureKeepsThePark(t *testing.T) {
	f, p, req, ctx := setupPark(t)
	_, err := p.Park(ctx, req)
	require.NoError(t, err)
	csid := req.ConversationSid
	f.fail["CreateInteractionInvite"] = &flexhooks.Error{Code: flexhooks.EUNAVAILABLE, Message: "busy", TwilioCode: 20503}
	_, err = p.UnparkWebhook(context.Background(), customerEvent(t, f, csid, "+1555"))
	require.Error(t, err)
	assert.Equal(t, 1, f.hookCount(csid), "a webhook is back")
	assert.True(t, IsParked(f.attrs(csid)))
	assert.True(t, f.hasItem(ParkedListMap(req.WorkerSid), csid))
	rec, _ := ParkFromAttributes(f.attrs(csid))
	assert.Equal(t, f.firstHook(csid).Sid, rec.WebhookSid, "the record names the new webhook")

	delete(f.fail, "CreateInteractionInvite")
	got, err := p.UnparkWebhook(context.Background(), customerEvent(t, f, csid, "+1555"))
	require.NoError(t, err)
	assert.True(t, got.Unparked)
	assert.Equal(t, 1, f.inviteCount())
}

func TestWorkerUnpark(t *testing.T) {
	f, p, req, ctx := setupPark(t)
	_, err := p.Park(ctx, req)
	require.NoError(t, err)
	csid := req.ConversationSid

	other := flexhooks.WithCaller(context.Background(), flexhooks.Caller{WorkerSid: "WK00000000000000000000000000000099"})
	_, err = p.Unpark(other, UnparkRequest{ConversationSid: csid})
	assert.Equal(t, flexhooks.EFORBIDDEN, flexhooks.ErrorCode(err))
	assert.Equal(t, 1, f.hookCount(csid), "a 403 changes nothing")

	_, err = p.Unpark(ctx, UnparkRequest{ConversationSid: "CH00000000000000000000000000000077"})
	assert.Equal(t, flexhooks.ENOTFOUND, flexhooks.ErrorCode(err))

	got, err := p.Unpark(ctx, UnparkRequest{ConversationSid: csid, RouteToSameWorker: boolField{Bool: true}})
	require.NoError(t, err)
	assert.True(t, got.Unparked)
	require.Equal(t, 1, f.inviteCount())
	props := f.invites[0]["properties"].(map[string]any)
	assert.Equal(t, req.WorkerSid, props["worker_sid"])

	_, err = p.Unpark(ctx, UnparkRequest{ConversationSid: csid})
	assert.Equal(t, flexhooks.ECONFLICT, flexhooks.ErrorCode(err), "no longer parked")
}

func TestParkClosedConversationChangesNothing(t *testing.T) {
	f, p, req, ctx := setupPark(t)
	f.convs[req.ConversationSid].State = "closed"
	_, err := p.Park(ctx, req)
	assert.Equal(t, flexhooks.ECONFLICT, flexhooks.ErrorCode(err))
	assert.Equal(t, 0, f.hookCount(req.ConversationSid))
	assert.False(t, f.hasItem(ParkClaimMap, req.ConversationSid))
	assert.False(t, f.closed[req.ParticipantSid])
}

func TestParkForbiddenMakesNoCall(t *testing.T) {
	f, p, req, _ := setupPark(t)
	ctx := flexhooks.WithCaller(context.Background(), flexhooks.Caller{WorkerSid: "WK00000000000000000000000000000099"})
	_, err := p.Park(ctx, req)
	assert.Equal(t, flexhooks.EFORBIDDEN, flexhooks.ErrorCode(err))
	assert.Empty(t, f.calls)
	sup := flexhooks.WithCaller(context.Background(), flexhooks.Caller{WorkerSid: "WK00000000000000000000000000000099", Roles: []string{"supervisor"}})
	_, err = p.Park(sup, req)
	assert.NoError(t, err)
}

func TestCustomerWritesWhileParking(t *testing.T) {
	// The customer's message arrives between the park's two round trips:
	// the webhook exists, the record does not yet. The unpark must leave a
	// webhook in place, so that the park that is finishing keeps a way back.
	f, p, req, ctx := setupPark(t)
	csid := req.ConversationSid
	var once sync.Once
	f.beforeOp = func(op string) {
		if op != "UpdateConversationAttributes" {
			return
		}
		once.Do(func() {
			got, err := p.UnparkWebhook(context.Background(), customerEvent(t, f, csid, "+1555"))
			assert.NoError(t, err)
			assert.Equal(t, ReasonParkInProgress, got.Reason)
		})
	}
	_, err := p.Park(ctx, req)
	require.NoError(t, err)
	f.beforeOp = nil
	assert.Equal(t, 1, f.hookCount(csid))
	got, err := p.UnparkWebhook(context.Background(), customerEvent(t, f, csid, "+1555"))
	require.NoError(t, err)
	assert.True(t, got.Unparked)
}
