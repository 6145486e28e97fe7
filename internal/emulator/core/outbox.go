package core

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
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
}

// Delivery is the outcome of one webhook, kept for GET /emulator/webhooks.
type Delivery struct {
	Source    string    `json:"source"`
	URL       string    `json:"url"`
	EventType string    `json:"eventType"`
	Attempts  int       `json:"attempts"`
	Status    int       `json:"status"` // last HTTP status, 0 when no answer came
	Error     string    `json:"error,omitempty"`
	Started   time.Time `json:"started"`
}

// Outbox delivers webhooks outside the world lock and retries them the way
// Twilio does: a 5xx, a timeout or a connection failure is retried (the
// attempts are spaced by RetryDelays), a 2xx/3xx/4xx is final. Settle waits
// until nothing is queued or in flight, which is how tests wait for the
// consequences of an action without sleeping.
type Outbox struct {
	Client      *http.Client
	AuthToken   string
	RetryDelays []time.Duration
	Log         *slog.Logger

	mu       sync.Mutex
	cond     *sync.Cond
	queued   []Webhook
	inflight int
	log      []Delivery // ring of the last maxDeliveryLog deliveries
	logNext  int        // once the ring is full: the oldest entry, overwritten next
}

// maxIdleWebhookConns is how many idle connections the outbox keeps per receiver.
const maxIdleWebhookConns = 64

// maxDeliveryLog bounds the delivery log so a long run keeps flat memory.
const maxDeliveryLog = 1000

// NewOutbox returns an outbox signing with authToken. Twilio waits 15 s for a
// webhook to answer; retries follow after 250 ms and 1 s (Twilio's own spacing
// is longer, but a local run should not wait minutes: see docs/emulator.md).
func NewOutbox(authToken string, log *slog.Logger) *Outbox {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Deliveries are concurrent; the default transport keeps only two idle
	// connections per host, so most webhooks to a busy receiver would open a
	// fresh connection (and leave a TIME_WAIT behind). Keep more.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = maxIdleWebhookConns
	o := &Outbox{
		Client:      &http.Client{Timeout: 15 * time.Second, Transport: transport},
		AuthToken:   authToken,
		RetryDelays: []time.Duration{250 * time.Millisecond, time.Second},
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
	d := Delivery{Source: h.Source, URL: h.URL, EventType: eventType(h.Params), Started: time.Now()}
	for attempt := 0; ; attempt++ {
		d.Attempts = attempt + 1
		status, err := o.send(h)
		d.Status = status
		d.Error = ""
		if err != nil {
			d.Error = err.Error()
		}
		retryable := err != nil || status >= 500
		if !retryable || attempt >= len(o.RetryDelays) {
			break
		}
		time.Sleep(o.RetryDelays[attempt])
	}
	if d.Error != "" || d.Status >= 400 {
		o.Log.Warn("emulator webhook failed", "url", h.URL, "event", d.EventType, "status", d.Status, "error", d.Error, "attempts", d.Attempts)
	}
	o.mu.Lock()
	o.record(d)
	o.inflight--
	o.cond.Broadcast()
	o.mu.Unlock()
}

func (o *Outbox) send(h Webhook) (int, error) {
	method := h.Method
	if method == "" {
		method = http.MethodPost
	}
	target := h.URL
	var body io.Reader
	sigParams := h.Params
	if method == http.MethodGet {
		u, err := url.Parse(h.URL)
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
	req, err := http.NewRequest(method, target, body)
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
