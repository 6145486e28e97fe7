package webhooks

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/flexhooks/flexhooks"
)

// UnparkWebhookPath is where the unpark webhook created by a park sends
// Twilio's onMessageAdded events.
const UnparkWebhookPath = "/webhooks/unpark-interaction"

// ParkConfig is the part of the service configuration park and unpark use.
type ParkConfig struct {
	// PublicBaseURL is where Twilio reaches the service; the unpark webhook
	// URL is built on it.
	PublicBaseURL string
	// WorkspaceSid is the Flex TaskRouter workspace unpark invites route in.
	WorkspaceSid string
	// ParkedList writes the parked-list item on every park, not only when the
	// plugin asks for it with createUpdateSyncMapItem.
	ParkedList bool
	// ParkedTTL is the parked-list item's TTL (SMS items never expire); 0
	// keeps items forever.
	ParkedTTL time.Duration
	// StaleClaimAfter is how old a claim must be, with no park record in the
	// conversation, to be taken for the leftover of a park that never
	// finished (a crash between its two round trips) rather than a park in
	// progress. Default 2 minutes, well above any request deadline.
	StaleClaimAfter time.Duration
	// UndoTimeout bounds the compensation after a failure, which runs even
	// when the request's own context is already cancelled. Default 15 s.
	UndoTimeout time.Duration
	// DefaultWorkflowSid is where an unpark routes when the workflow the
	// park named no longer exists; empty: the workspace's workflow named
	// DefaultWorkflowName.
	DefaultWorkflowSid string
	// MaxAge bounds a park's life (PARK_MAX_AGE); 0: no bound.
	MaxAge time.Duration
	// RouteExpired routes an expired park back to an agent instead of
	// closing it.
	RouteExpired bool
	// ExpiredMessage tells the customer an expired park was closed; empty
	// sends nothing.
	ExpiredMessage string
	// Now is the clock (the emulator's virtual one in tests); nil is the
	// wall clock.
	Now func() time.Time
}

// DefaultWorkflowName is Flex's default workflow, the unpark's last resort.
const DefaultWorkflowName = "Assign to Anyone"

// Parks runs park, unpark and the parked list.
type Parks struct {
	tw  ParkTwilio
	cfg ParkConfig
	log *slog.Logger
	now func() time.Time
	// claims finds park claims in their shards or a legacy map.
	claims legacyClaims
}

// NewParks returns the park operations over tw. log may be nil.
func NewParks(tw ParkTwilio, cfg ParkConfig, log *slog.Logger) *Parks {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.StaleClaimAfter <= 0 {
		cfg.StaleClaimAfter = 2 * time.Minute
	}
	if cfg.UndoTimeout <= 0 {
		cfg.UndoTimeout = 15 * time.Second
	}
	cfg.PublicBaseURL = strings.TrimRight(cfg.PublicBaseURL, "/")
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Parks{tw: tw, cfg: cfg, log: log, now: cfg.Now}
}

// unparkURL is the unpark webhook's URL, carrying the customer hint.
func (p *Parks) unparkURL(hint string) string {
	u := p.cfg.PublicBaseURL + UnparkWebhookPath
	if hint != "" {
		u += "?" + url.Values{"customer": {hint}}.Encode()
	}
	return u
}

// unparkWebhook is the webhook a park creates: the customer's way back.
func (p *Parks) unparkWebhook(rec ParkRecord) Webhook {
	return Webhook{
		Target:  "webhook",
		URL:     p.unparkURL(customerHint(customerIdentity(rec.TaskAttributes))),
		Method:  "POST",
		Filters: []string{"onMessageAdded"},
	}
}

// isUnparkWebhook reports whether w is an unpark webhook of this service (or
// of flex-project-template's function, which flexhooks serves as an alias).
func (p *Parks) isUnparkWebhook(w Webhook) bool {
	u, err := url.Parse(w.URL)
	if err != nil {
		return false
	}
	return strings.HasSuffix(u.Path, UnparkWebhookPath) ||
		strings.HasSuffix(u.Path, "/features/park-interaction/common/unpark-interaction")
}

// undoContext is a context for compensation: it survives the request's
// cancellation (a client hanging up must not leave half a park behind) but
// not forever.
func (p *Parks) undoContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), p.cfg.UndoTimeout)
}

// parallel runs fns concurrently and waits for all of them. Unlike an
// errgroup it never cancels the others on a failure: each call's outcome is
// needed to know what to compensate.
func parallel(fns ...func()) {
	if len(fns) == 1 {
		fns[0]()
		return
	}
	var wg sync.WaitGroup
	for _, fn := range fns {
		wg.Go(fn)
	}
	wg.Wait()
}

// retryFailed calls fn again, twice at most and briefly, while it fails in
// a way that may pass (Twilio's 5xx; a 429 or 503 its client has already
// retried). It is for the deletes only this service makes, where Twilio
// sends no second webhook: a message whose claim failed once would
// otherwise wait for the customer's next message.
func retryFailed(ctx context.Context, fn func() error) error {
	err := fn()
	for _, wait := range []time.Duration{50 * time.Millisecond, 200 * time.Millisecond} {
		if err == nil || !notRefused(err) {
			return err
		}
		if pause(ctx, wait) != nil {
			return err
		}
		err = fn()
	}
	return err
}

// pause waits d, or less when ctx ends first (then its error).
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func isCode(err error, code string) bool {
	var e *flexhooks.Error
	return errors.As(err, &e) && e.Code == code
}

func isNotFound(err error) bool { return isCode(err, flexhooks.ENOTFOUND) }
func isConflict(err error) bool { return isCode(err, flexhooks.ECONFLICT) }

// ignoreConflict is nil for a create that found its key taken: what it
// would have written is there.
func ignoreConflict(err error) error {
	if isConflict(err) {
		return nil
	}
	return err
}

// conversationError turns a failed conversation fetch into the caller's
// error: an unknown conversation is the caller's 404, anything else is
// Twilio's failure as mapped.
func conversationError(sid string, err error) error {
	if isNotFound(err) {
		return &flexhooks.Error{Code: flexhooks.ENOTFOUND, Message: "conversation " + sid + " not found", Err: err}
	}
	return err
}

// logSids puts the SIDs a request is about on its access-log line.
func logSids(ctx context.Context, kv ...string) {
	attrs := make([]slog.Attr, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			attrs = append(attrs, slog.String(kv[i], kv[i+1]))
		}
	}
	flexhooks.LogAttrs(ctx, attrs...)
}
