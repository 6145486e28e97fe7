package core

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DeliveryPolicy is how Twilio makes one webhook: how long it waits to
// connect and to read, the time all attempts may take together, and which
// failures it tries again, and how often. Sources:
//   - Conversations: "Conversations webhooks have a maximum timeout of 5
//     seconds" (https://www.twilio.com/docs/conversations/conversations-webhooks);
//     nothing documents a retry after an answer, and the connection-overrides
//     doc's defaults retry once, on a failed connection only
//     (https://www.twilio.com/docs/usage/webhooks/webhooks-connection-overrides).
//   - TaskRouter event callbacks: answer "within 15 seconds"
//     (https://www.twilio.com/docs/taskrouter/api/event/reference); no retry
//     is promised, so none is made.
type DeliveryPolicy struct {
	ConnectTimeout time.Duration
	ReadTimeout    time.Duration
	TotalTimeout   time.Duration
	Retries        int
	RetryOn        RetryOn
	// Overridable: the product documents URL-fragment connection overrides
	// (#ct=…&rt=…&tt=…&rc=…&rp=…) for this webhook. Where it does not, a
	// fragment is dropped unread.
	Overridable bool
}

// RetryOn is the set of failures a policy retries (the overrides' rp).
type RetryOn uint8

// Failure kinds, as the connection-overrides doc names them.
const (
	RetryConnect RetryOn = 1 << iota // ct: no connection within the connect timeout
	RetryRead                        // rt: no answer within the read timeout
	Retry4xx
	Retry5xx
)

// Delivery policies of the emulated products.
var (
	ConversationsDelivery = DeliveryPolicy{
		ConnectTimeout: 5 * time.Second, ReadTimeout: 5 * time.Second, TotalTimeout: 5 * time.Second,
		Retries: 1, RetryOn: RetryConnect,
	}
	TaskRouterDelivery = DeliveryPolicy{
		ConnectTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second, TotalTimeout: 15 * time.Second,
		Retries: 0, RetryOn: RetryConnect, Overridable: true,
	}
)

// Twilio's error for an invalid rp (https://www.twilio.com/docs/api/errors/11243).
const CodeInvalidRetryPolicy = 11243

// overrideRange is each numeric override's documented range.
var overrideRange = map[string][2]int{"ct": {100, 10000}, "rt": {100, 15000}, "tt": {100, 15000}, "rc": {0, 5}}

// applyOverrides reads the URL's fragment into p (when p allows overrides)
// and returns the URL without it: a fragment is never sent. An rp naming
// anything but 4xx, 5xx, ct, rt or all is error 11243 and the webhook is not
// made. A number out of its documented range is clamped to it, a key the
// doc does not name is ignored (both undocumented: the doc gives only the
// ranges). Keys left out keep the product's own default.
func applyOverrides(raw string, p DeliveryPolicy) (string, DeliveryPolicy, error) {
	base, frag, found := strings.Cut(raw, "#")
	if !found || !p.Overridable || frag == "" {
		return base, p, nil
	}
	vals, err := url.ParseQuery(frag)
	if err != nil {
		return base, p, nil
	}
	for key, rng := range overrideRange {
		s := vals.Get(key)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			continue
		}
		n = min(max(n, rng[0]), rng[1])
		switch key {
		case "ct":
			p.ConnectTimeout = time.Duration(n) * time.Millisecond
		case "rt":
			p.ReadTimeout = time.Duration(n) * time.Millisecond
		case "tt":
			p.TotalTimeout = time.Duration(n) * time.Millisecond
		case "rc":
			p.Retries = n
		}
	}
	if vals.Has("rp") {
		on, err := parseRetryPolicy(vals.Get("rp"))
		if err != nil {
			return base, p, err
		}
		p.RetryOn = on
	}
	return base, p, nil
}

func parseRetryPolicy(s string) (RetryOn, error) {
	var on RetryOn
	for part := range strings.SplitSeq(s, ",") {
		switch strings.TrimSpace(part) {
		case "ct":
			on |= RetryConnect
		case "rt":
			on |= RetryRead
		case "4xx":
			on |= Retry4xx
		case "5xx":
			on |= Retry5xx
		case "all":
			on |= RetryConnect | RetryRead | Retry4xx | Retry5xx
		default:
			return 0, fmt.Errorf("%d: HTTP retry policy is invalid: rp=%q (allowed: 4xx, 5xx, ct, rt, all)", CodeInvalidRetryPolicy, s)
		}
	}
	return on, nil
}

// failureKind classifies one attempt's outcome: 0 for a success or a
// 1xx–3xx, else the kind of failure.
func failureKind(status int, err error) RetryOn {
	switch {
	case err != nil:
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return RetryConnect
		}
		var dns *net.DNSError
		if errors.As(err, &dns) {
			return RetryConnect
		}
		return RetryRead
	case status >= 500:
		return Retry5xx
	case status >= 400:
		return Retry4xx
	}
	return 0
}

type connectTimeoutKey struct{}

// dialWithTimeout dials with the connect timeout the delivery put in ctx.
func dialWithTimeout(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	if t, ok := ctx.Value(connectTimeoutKey{}).(time.Duration); ok && t > 0 {
		d.Timeout = t
	}
	return d.DialContext(ctx, network, addr)
}
