package twilio

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"time"
)

// RetryPolicy bounds the retries of one Twilio call.
type RetryPolicy struct {
	// MaxAttempts counts the first try; 0 means 3, 1 disables retries.
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the jittered exponential backoff;
	// 0 means 100ms and 2s.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// MaxRetryAfter is the longest Retry-After honoured; a longer one
	// returns the 429 at once. 0 means 10s.
	MaxRetryAfter time.Duration

	// no429 returns a 429 at once instead of retrying it.
	no429 bool
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 3
	}
	if p.MinBackoff <= 0 {
		p.MinBackoff = 100 * time.Millisecond
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = 2 * time.Second
	}
	if p.MaxBackoff < p.MinBackoff {
		p.MaxBackoff = p.MinBackoff
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = 10 * time.Second
	}
	return p
}

// retryTransport retries a call when Twilio cannot have acted on it or
// acting twice is harmless.
//
// It is written here rather than taken from hashicorp/go-retryablehttp:
// that library is a client (its own Request type, its own policy hook that
// does not see whether the connection was ever made), and the decision that
// matters most here — never replay a create Twilio may have processed —
// needs the method, the path's shape and whether the request reached a
// connection, per attempt, inside a RoundTripper under twilio-go.
//
//   - 429: always retried (Twilio refused it, nothing happened), honouring
//     Retry-After.
//   - 503 and transport errors: retried for idempotent calls only (GET,
//     DELETE, POST updating an instance). A POST creating in a collection
//     is retried on a transport error only when no connection was obtained
//     (a dial or DNS failure), since then Twilio never saw it.
//   - Never past the caller's deadline: a wait that would end after it
//     returns the last answer instead.
type retryTransport struct {
	policy  RetryPolicy
	base    http.RoundTripper
	metrics *metrics
	log     *slog.Logger
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.policy.MaxAttempts <= 1 {
		resp, err := t.base.RoundTrip(req)
		t.countThrottled(req, resp)
		return resp, err
	}
	req, err := replayable(req)
	if err != nil {
		return nil, err
	}
	ctx := req.Context()
	create := isCreate(req)
	for attempt := 1; ; attempt++ {
		r := req
		if attempt > 1 {
			r = req.Clone(ctx)
			if req.GetBody != nil {
				if r.Body, err = req.GetBody(); err != nil {
					return nil, err
				}
			}
		}
		var connected bool
		if create {
			// Whether the attempt got a connection tells a dial failure
			// (Twilio never saw it) from a failure after sending.
			r = r.WithContext(httptrace.WithClientTrace(r.Context(), &httptrace.ClientTrace{
				GotConn: func(httptrace.GotConnInfo) { connected = true },
			}))
		}
		resp, err := t.base.RoundTrip(r)
		t.countThrottled(req, resp)

		reason := t.retryable(resp, err, create, connected)
		if reason == "" || attempt >= t.policy.MaxAttempts || ctx.Err() != nil {
			return resp, err
		}
		wait, ok := t.backoff(attempt, resp)
		if deadline, has := ctx.Deadline(); !ok || (has && time.Now().Add(wait).After(deadline)) {
			return resp, err
		}
		if resp != nil {
			// Drain a little so the connection can be reused.
			_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
			resp.Body.Close()
		}
		t.metrics.retries.WithLabelValues(product(req.URL.Host), reason).Inc()
		t.log.LogAttrs(ctx, slog.LevelInfo, "retrying Twilio call",
			slog.String("method", req.Method), slog.String("host", req.URL.Host), slog.String("path", req.URL.Path),
			slog.String("reason", reason), slog.Int("attempt", attempt), slog.Duration("wait", wait))
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// countThrottled counts a 429 answer.
func (t *retryTransport) countThrottled(req *http.Request, resp *http.Response) {
	if resp != nil && resp.StatusCode == http.StatusTooManyRequests {
		t.metrics.throttled.WithLabelValues(product(req.URL.Host)).Inc()
	}
}

// retryable returns why the attempt may be retried ("429", "503",
// "connection"), or "" when it must not be.
func (t *retryTransport) retryable(resp *http.Response, err error, create, connected bool) string {
	switch {
	case err != nil:
		if errors.Is(err, context.Canceled) {
			return ""
		}
		if !create || !connected || isDialError(err) {
			return "connection"
		}
		return ""
	case resp.StatusCode == http.StatusTooManyRequests && !t.policy.no429:
		return "429"
	case resp.StatusCode == http.StatusServiceUnavailable && !create:
		return "503"
	}
	return ""
}

// backoff returns how long to wait before the next attempt: Retry-After
// when Twilio sent one (false when it is longer than MaxRetryAfter), else
// full-jitter exponential backoff.
func (t *retryTransport) backoff(attempt int, resp *http.Response) (time.Duration, bool) {
	if resp != nil {
		if ra, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			if ra > t.policy.MaxRetryAfter {
				return 0, false
			}
			// A little jitter on top spreads replicas told the same time.
			return ra + rand.N(t.policy.MinBackoff), true
		}
	}
	ceiling := t.policy.MinBackoff << (attempt - 1)
	if ceiling <= 0 || ceiling > t.policy.MaxBackoff {
		ceiling = t.policy.MaxBackoff
	}
	return t.policy.MinBackoff/2 + rand.N(ceiling), true
}

// retryAfter parses Retry-After as seconds or as an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}

func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// replayable makes sure the request's body can be sent again. twilio-go
// builds bodies from strings.Reader or bytes.Buffer, for which
// http.NewRequest already sets GetBody; anything else is buffered.
func replayable(req *http.Request) (*http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody || req.GetBody != nil {
		return req, nil
	}
	b, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	r.ContentLength = int64(len(b))
	return r, nil
}

// isCreate reports whether req creates something in a collection, which
// Twilio would do twice if it were sent twice. Twilio's REST paths
// alternate collection and instance after the version
// (/v1/Conversations/CH…/Messages): a POST to an odd number of segments
// names a collection (…/Conversations, …/Messages, …/Participants,
// …/Webhooks, /v1/Interactions, …/Invites, …/Tasks, …/Maps, …/Items,
// …/Workflows) and creates; an even number names an instance and updates
// it (…/Messages/IM…, …/Items/{key}, …/Tasks/WT…, Tokens/validate). A
// singleton such as /v1/Configuration counts as a create, which only makes
// its retries more cautious.
func isCreate(req *http.Request) bool {
	if req.Method != http.MethodPost {
		return false
	}
	path := strings.Trim(req.URL.Path, "/")
	if path == "" {
		return true
	}
	segments := strings.Count(path, "/") // segments after the version
	return segments%2 == 1
}

// isDialError reports a failure to connect at all (refused, DNS, dial
// timeout): the request was never written.
func isDialError(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}
