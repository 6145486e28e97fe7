package core

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// Webhook is one HTTP callback the emulator makes, as Twilio makes it:
// form-encoded parameters, signed with the account's auth token.
type Webhook struct {
	URL    string
	Method string // POST (default) or GET
	Params url.Values
	// Source names who sends it, for the delivery log: "conversations", "taskrouter".
	Source string
	// Policy is how the product makes it (ConversationsDelivery,
	// TaskRouterDelivery); the zero value is one attempt with 5 s timeouts.
	Policy DeliveryPolicy
}

// Delivery is the outcome of one webhook, kept for GET /emulator/webhooks
// and for replaying it (POST /emulator/webhooks/{id}/replay).
type Delivery struct {
	ID        int       `json:"id"`
	ReplayOf  int       `json:"replayOf,omitempty"`
	Source    string    `json:"source"`
	URL       string    `json:"url"`
	EventType string    `json:"eventType"`
	Attempts  int       `json:"attempts"`
	Status    int       `json:"status"` // last HTTP status, 0 when no answer came
	Error     string    `json:"error,omitempty"`
	Started   time.Time `json:"started"`

	hook Webhook
}

// Outbox delivers webhooks outside the world lock, as each product's
// DeliveryPolicy says: Conversations waits 5 s and tries once more only
// when the connection failed; TaskRouter waits 15 s and does not retry
// unless the callback URL's connection overrides ask for it. A failure is
// otherwise final: no 5xx is delivered again on its own (a test of
// idempotence replays a delivery through the control API). Settle waits
// until nothing is queued or in flight, which is how tests wait for the
// consequences of an action without sleeping.
type Outbox struct {
	Client    *http.Client
	AuthToken string
	// RetryDelays spaces the retries a policy allows (the last one repeats);
	// Twilio does not document its spacing.
	RetryDelays []time.Duration
	Log         *slog.Logger

	mu       sync.Mutex
	cond     *sync.Cond
	queued   []Webhook
	inflight int
	lastID   int
	log      []Delivery // ring of the last maxDeliveryLog deliveries
	logNext  int        // once the ring is full: the oldest entry, overwritten next
}

// maxIdleWebhookConns is how many idle connections the outbox keeps per receiver.
const maxIdleWebhookConns = 64

// maxDeliveryLog bounds the delivery log so a long run keeps flat memory.
const maxDeliveryLog = 1000

// NewOutbox returns an outbox signing with authToken. Timeouts come from
// each webhook's DeliveryPolicy; a retry it allows follows after 250 ms.
func NewOutbox(authToken string, log *slog.Logger) *Outbox {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Deliveries are concurrent; the default transport keeps only two idle
	// connections per host, so most webhooks to a busy receiver would open a
	// fresh connection (and leave a TIME_WAIT behind). Keep more.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = maxIdleWebhookConns
	transport.DialContext = dialWithTimeout
	o := &Outbox{
		Client:      &http.Client{Transport: transport},
		AuthToken:   authToken,
		RetryDelays: []time.Duration{250 * time.Millisecond},
		Log:         log,
	}
	o.cond = sync.NewCond(&o.mu)
	return o
}

func (o *Outbox) enqueue(h Webhook) {
	o.mu.Lock()
	o.queued = append(o.queued, h)
	o.mu.Unlock()
}

// Flush starts delivering what is queued. Each delivery runs in its own
// goroutine: Twilio gives no ordering guarantee between webhooks either.
func (o *Outbox) Flush() {
	o.mu.Lock()
	q := o.queued
	o.queued = nil
	o.inflight += len(q)
	o.mu.Unlock()
	for _, h := range q {
		go o.deliver(h)
	}
}

// Settle blocks until no webhook is queued or in flight, or ctx ends.
// Webhooks that a delivery causes (the receiver calls the REST API, which
// queues more) keep it waiting, since they are queued before the first
// delivery counts as done.
func (o *Outbox) Settle(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		o.mu.Lock()
		o.cond.Broadcast()
		o.mu.Unlock()
	})
	defer stop()
	o.mu.Lock()
	defer o.mu.Unlock()
	for o.inflight > 0 || len(o.queued) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		o.cond.Wait()
	}
	return nil
}

// Deliveries returns the most recent deliveries, oldest first.
func (o *Outbox) Deliveries() []Delivery {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]Delivery, 0, len(o.log))
	out = append(out, o.log[o.logNext:]...)
	return append(out, o.log[:o.logNext]...)
}

// ClearDeliveries empties the delivery log.
func (o *Outbox) ClearDeliveries() {
	o.mu.Lock()
	o.log, o.logNext = nil, 0
	o.mu.Unlock()
}

// record adds d to the delivery log, overwriting the oldest entry once the
// log holds maxDeliveryLog: a ring, so a long run neither grows memory nor
// copies the log on every delivery. o.mu held.
func (o *Outbox) record(d Delivery) {
	if len(o.log) < maxDeliveryLog {
		o.log = append(o.log, d)
		return
	}
	o.log[o.logNext] = d
	o.logNext = (o.logNext + 1) % maxDeliveryLog
}

func (o *Outbox) deliver(h Webhook) {
	d := o.run(h, 0)
	o.mu.Lock()
	o.record(d)
	o.inflight--
	o.cond.Broadcast()
	o.mu.Unlock()
}

// Replay makes the webhook of delivery id once more, as Twilio would if it
// delivered twice, and returns the new delivery once it is done. Twilio
// gives no promise of a single delivery, so a receiver must take the
// replay in its stride.
func (o *Outbox) Replay(id int) (Delivery, bool) {
	o.mu.Lock()
	var h Webhook
	found := false
	for _, d := range o.log {
		if d.ID == id {
			h, found = d.hook, true
		}
	}
	if found {
		o.inflight++
	}
	o.mu.Unlock()
	if !found {
		return Delivery{}, false
	}
	d := o.run(h, id)
	o.mu.Lock()
	o.record(d)
	o.inflight--
	o.cond.Broadcast()
	o.mu.Unlock()
	return d, true
}

// run makes the webhook's attempts under its policy.
func (o *Outbox) run(h Webhook, replayOf int) Delivery {
	o.mu.Lock()
	o.lastID++
	d := Delivery{ID: o.lastID, ReplayOf: replayOf, Source: h.Source, URL: h.URL, EventType: eventType(h.Params), Started: time.Now(), hook: h}
	o.mu.Unlock()
	target, p, err := applyOverrides(h.URL, h.Policy)
	if err != nil {
		d.Error = err.Error()
		o.Log.Warn("emulator webhook not made", "url", h.URL, "event", d.EventType, "error", d.Error)
		return d
	}
	if p.ConnectTimeout <= 0 {
		p.ConnectTimeout = 5 * time.Second
	}
	if p.ReadTimeout <= 0 {
		p.ReadTimeout = 5 * time.Second
	}
	if p.TotalTimeout <= 0 {
		p.TotalTimeout = p.ConnectTimeout + p.ReadTimeout
	}
	deadline := d.Started.Add(p.TotalTimeout)
	for attempt := 0; ; attempt++ {
		d.Attempts = attempt + 1
		status, err := o.send(h, target, p.ConnectTimeout, p.ReadTimeout, deadline)
		d.Status, d.Error = status, ""
		if err != nil {
			d.Error = err.Error()
		}
		kind := failureKind(status, err)
		if kind == 0 || attempt >= p.Retries || p.RetryOn&kind == 0 {
			break
		}
		wait := o.RetryDelays[min(attempt, len(o.RetryDelays)-1)]
		if time.Now().Add(wait).After(deadline) {
			break
		}
		time.Sleep(wait)
	}
	if d.Error != "" || d.Status >= 400 {
		o.Log.Warn("emulator webhook failed", "url", h.URL, "event", d.EventType, "status", d.Status, "error", d.Error, "attempts", d.Attempts)
	}
	return d
}

// send makes one attempt: connect within connect, the answer's head within
// read of the request being written, all before deadline.
func (o *Outbox) send(h Webhook, target string, connect, read time.Duration, deadline time.Time) (int, error) {
	method := h.Method
	if method == "" {
		method = http.MethodPost
	}
	var body io.Reader
	sigParams := h.Params
	if method == http.MethodGet {
		u, err := url.Parse(target)
		if err != nil {
			return 0, err
		}
		q := u.Query()
		for k, vs := range h.Params {
			q[k] = append(q[k], vs...)
		}
		u.RawQuery = q.Encode()
		target = u.String()
		sigParams = nil
	} else {
		body = strings.NewReader(h.Params.Encode())
	}
	ctx, cancel := context.WithDeadline(context.WithValue(context.Background(), connectTimeoutKey{}, connect), deadline)
	defer cancel()
	// The read timeout runs from the request written to the answer's first
	// byte; the transport calls these hooks from its own goroutines.
	var timerMu sync.Mutex
	var readTimer *time.Timer
	answered := false
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) {
			timerMu.Lock()
			if !answered {
				readTimer = time.AfterFunc(read, cancel)
			}
			timerMu.Unlock()
		},
		GotFirstResponseByte: func() {
			timerMu.Lock()
			answered = true
			if readTimer != nil {
				readTimer.Stop()
			}
			timerMu.Unlock()
		},
	})
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("User-Agent", "TwilioProxy/1.1 (flexhooks-emulator)")
	req.Header.Set("X-Twilio-Signature", Signature(o.AuthToken, target, sigParams))
	resp, err := o.Client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// Signature is Twilio's X-Twilio-Signature: base64(HMAC-SHA1(authToken,
// url + each parameter name and value, names sorted)).
func Signature(authToken, fullURL string, params url.Values) string {
	var b strings.Builder
	b.WriteString(fullURL)
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range params[k] {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func eventType(p url.Values) string {
	if et := p.Get("EventType"); et != "" {
		return et
	}
	return p.Get("event_type")
}
