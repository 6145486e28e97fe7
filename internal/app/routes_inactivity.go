package app

import (
	"context"
	"log/slog"
	"net/http"
	"sync"

	"github.com/flexhooks/flexhooks/internal/config"
	"github.com/flexhooks/flexhooks/internal/server"
	"github.com/flexhooks/flexhooks/internal/twilio"
	"github.com/flexhooks/flexhooks/webhooks"
)

// inactivityRoutes builds the inactivity timeout from the configuration,
// registers its reservation.accepted handler on the TaskRouter events and
// returns the onConversationStateUpdated routes: the native path and the
// inactivity-timeout tutorial's. With no timeout configured (INACTIVITY_TIMEOUT
// and every per-channel override empty) nothing is registered and the
// routes still answer 200, so that a service-level webhook left pointing here
// does not fill Twilio's debugger with errors. Interaction records, when on,
// observe every event these routes receive (closes, first replies) and mark
// the inactivity timeout's closes abandoned. step is its sweep, nil when
// the timeout is off.
func inactivityRoutes(cfg config.Config, tw *twilio.Client, events *webhooks.TaskEvents, records *webhooks.Interactions, log *slog.Logger) (routes []server.Route, step webhooks.SweepStep) {
	handle := func(_ context.Context, ev webhooks.ConversationStateEvent) (*webhooks.InactivityResult, error) {
		return &webhooks.InactivityResult{ConversationSid: ev.ConversationSid, Action: webhooks.InactivityIgnored}, nil
	}
	if inactivityEnabled(cfg) {
		var (
			closing func(context.Context, string)
			seen    webhooks.InactivityRecords
		)
		if records != nil {
			closing, seen = records.Abandoned, records
		}
		in := webhooks.NewInactivity(tw.Operations(cfg.SyncServiceSID), webhooks.InactivityConfig{
			TimeoutFor:         cfg.InactivityTimeoutFor,
			Message:            cfg.InactivityMessage,
			Warning:            cfg.InactivityWarning.D(),
			WarningMessage:     cfg.InactivityWarningMessage,
			WhatsAppContentSid: cfg.InactivityWhatsAppContentSID,
			Closing:            closing,
			Records:            seen,
			WorkspaceSid:       cfg.WorkspaceSID,
		}, log)
		events.On("reservation.accepted", in.OnReservationAccepted)
		handle = in.StateUpdated
		step = in.SweepStep()
	}
	h := observed(records, handle)
	return []server.Route{
		{Method: http.MethodPost, Pattern: webhooks.ConversationStateUpdatedPath, Name: "conversation-state-updated", Auth: server.AuthSignature, Handler: h},
		{Method: http.MethodPost, Pattern: "/on_conversation_state_updated", Name: "conversation-state-updated", Auth: server.AuthSignature, Handler: h},
	}, step
}

// observed runs the records' observer of a Conversations event alongside
// handle (the inactivity timeout), which alone decides the answer.
func observed(records *webhooks.Interactions, handle func(context.Context, webhooks.ConversationStateEvent) (*webhooks.InactivityResult, error)) http.Handler {
	return server.Endpoint(func(ctx context.Context, ev *webhooks.ConversationStateEvent) (*webhooks.InactivityResult, error) {
		if records == nil {
			return handle(ctx, *ev)
		}
		var (
			res *webhooks.InactivityResult
			err error
			wg  sync.WaitGroup
		)
		wg.Go(func() { records.OnConversationEvent(ctx, *ev) })
		res, err = handle(ctx, *ev)
		wg.Wait()
		return res, err
	})
}

// inactivityEnabled reports whether any channel has a timeout.
func inactivityEnabled(cfg config.Config) bool {
	return cfg.InactivityTimeout != 0 || cfg.InactivityTimeoutSMS != 0 || cfg.InactivityTimeoutWhatsApp != 0 ||
		cfg.InactivityTimeoutChat != 0 || cfg.InactivityTimeoutMessenger != 0
}
