package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flexhooks/flexhooks"
)

const (
	benchToken = "0123456789abcdef0123456789abcdef"
	benchBase  = "https://flexhooks.example.com"
	benchPath  = "/webhooks/conversation-state-updated"
)

// benchForm is an onMessageAdded delivery as Conversations sends it.
var benchForm = url.Values{
	"AccountSid":          {"ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
	"ConversationSid":     {"CHbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"},
	"ChatServiceSid":      {"ISbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"},
	"MessageSid":          {"IMcccccccccccccccccccccccccccccccc"},
	"ParticipantSid":      {"MBdddddddddddddddddddddddddddddddd"},
	"EventType":           {"onMessageAdded"},
	"Source":              {"SMS"},
	"Author":              {"+15555550100"},
	"Body":                {"Hello, I am back about my order"},
	"Index":               {"12"},
	"DateCreated":         {"2026-11-21T12:00:00.000Z"},
	"Attributes":          {"{}"},
	"RetryCount":          {"0"},
	"WebhookSid":          {"WHeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"},
	"WebhookType":         {"webhook"},
	"ClientIdentity":      {""},
	"MessagingServiceSid": {"MGffffffffffffffffffffffffffffffff"},
}

// benchEvent is the part of the delivery the acknowledging handler decodes.
type benchEvent struct {
	EventType       string `json:"EventType"`
	ConversationSid string `json:"ConversationSid"`
}

// benchServer mounts one signed route that acknowledges and ignores events
// (204), with the access log on at info level, as in production.
func benchServer() *Server {
	ack := Endpoint(func(ctx context.Context, ev *benchEvent) (flexhooks.NoContent, error) {
		flexhooks.LogAttrs(ctx, slog.String("conversationSid", ev.ConversationSid))
		return flexhooks.NoContent{}, nil
	})
	log := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	return New(Options{Logger: log, AuthToken: benchToken, PublicBaseURL: benchBase, Routes: []Route{
		{Method: http.MethodPost, Pattern: benchPath, Name: "conversation-state-updated", Auth: AuthSignature, Handler: ack},
	}})
}

// BenchmarkMiddlewareStack measures the whole stack in process (request id,
// access log, metrics, recovery, body limit, routing, signature, decode,
// respond) against the same request served by a bare handler, so that the
// difference is the stack's cost.
func BenchmarkMiddlewareStack(b *testing.B) {
	body := benchForm.Encode()
	sig := sign(benchToken, benchBase+benchPath, benchForm)
	newReq := func() *http.Request {
		req := httptest.NewRequest(http.MethodPost, benchPath, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", sig)
		return req
	}
	run := func(b *testing.B, h http.Handler) {
		b.ReportAllocs()
		for b.Loop() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, newReq())
			if rec.Code != http.StatusNoContent {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
	}
	b.Run("bare", func(b *testing.B) {
		run(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusNoContent)
		}))
	})
	b.Run("stack", func(b *testing.B) { run(b, benchServer().Handler()) })
}

// BenchmarkWebhookLoad delivers 10,000 signed webhooks per iteration over
// loopback HTTP from a pool of concurrent keep-alive clients to a route that
// acknowledges them with 204, and reports throughput and latency. Client and
// server share the machine's cores.
//
// The "bare" runs serve the same deliveries with a plain net/http server and
// a handler that only drains the body: the difference is what the stack
// costs, the rest is the machine.
func BenchmarkWebhookLoad(b *testing.B) {
	for _, clients := range []int{1, 2, 4, 8, 16} {
		b.Run(fmt.Sprintf("stack/clients=%d", clients), func(b *testing.B) {
			webhookLoad(b, clients, 10000, func(ctx context.Context, l net.Listener) error {
				return benchServer().Serve(ctx, l)
			})
		})
	}
	b.Run("bare/clients=8", func(b *testing.B) {
		webhookLoad(b, 8, 10000, func(ctx context.Context, l net.Listener) error {
			hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.WriteHeader(http.StatusNoContent)
			})}
			go func() { <-ctx.Done(); _ = hs.Close() }()
			if err := hs.Serve(l); err != http.ErrServerClosed {
				return err
			}
			return nil
		})
	})
}

func webhookLoad(b *testing.B, clients, deliveries int, serve func(context.Context, net.Listener) error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- serve(ctx, l) }()
	defer func() {
		cancel()
		require.NoError(b, <-served)
	}()

	target := "http://" + l.Addr().String() + benchPath
	body := benchForm.Encode()
	sig := sign(benchToken, benchBase+benchPath, benchForm)
	transport := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients, DisableCompression: true}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}

	deliver := func() error {
		req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", sig)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	// Warm the connections up so the run measures steady state.
	for range clients {
		require.NoError(b, deliver())
	}

	latencies := make([]time.Duration, deliveries)
	var elapsed time.Duration
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		var next atomic.Int64
		var failed atomic.Value
		var wg sync.WaitGroup
		start := time.Now()
		for range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := next.Add(1) - 1
					if i >= int64(deliveries) {
						return
					}
					t0 := time.Now()
					if err := deliver(); err != nil {
						failed.Store(err)
						return
					}
					latencies[i] = time.Since(t0)
				}
			}()
		}
		wg.Wait()
		elapsed += time.Since(start)
		if err, _ := failed.Load().(error); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	slices.Sort(latencies) // the last iteration's
	pct := func(p float64) float64 {
		return float64(latencies[int(p*float64(len(latencies)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(deliveries*b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	// CPU time per delivery, client and server together: unlike req/s, it
	// hardly depends on what else the machine runs.
	b.ReportMetric(float64(cpu.Microseconds())/float64(deliveries*b.N), "cpu-µs/req")
	b.ReportMetric(0, "ns/op") // one op is 10,000 deliveries: the figures above say it better
}

// cpuTime is the process's user + system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSignatureVerify is the signature check alone: parse the form,
// sort, HMAC.
func BenchmarkSignatureVerify(b *testing.B) {
	v := newSignatureVerifier(benchToken, benchBase)
	body := benchForm.Encode()
	sig := sign(benchToken, benchBase+benchPath, benchForm)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, benchPath, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", sig)
		if err := v.verify(req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseForm compares the pair parser with url.ParseQuery on the
// same webhook body.
func BenchmarkParseForm(b *testing.B) {
	body := benchForm.Encode()
	b.Run("parseForm", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := parseForm(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("url.ParseQuery", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := url.ParseQuery(body); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkFlexTokenCacheHit is the cost of a Flex token already validated:
// the shape check, the SHA-256 of a token the size of a real one (~1.3 KB)
// and the cache look-up ("validate"), and the same through the whole
// middleware stack to a handler answering 200 ("stack").
func BenchmarkFlexTokenCacheHit(b *testing.B) {
	token := strings.Repeat("eyJ6aXAiOiJERUYiLCJraWQiOiJTQVNfUzNfX19LTVNfdjEi.", 26)
	v := &fakeValidator{ValidateFlexTokenFn: func(ctx context.Context, token string) (flexhooks.Caller, time.Time, error) {
		return flexhooks.Caller{WorkerSid: "WKalice", Identity: "alice", Roles: []string{"agent"}}, time.Now().Add(time.Hour), nil
	}}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	log := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	s := New(Options{Logger: log, Tokens: v, Routes: []Route{{Method: http.MethodGet, Pattern: "/me", Auth: AuthFlexToken, Handler: ok}}})
	ctx := context.Background()
	if _, err := s.tokens.validate(ctx, token); err != nil {
		b.Fatal(err)
	}
	b.Run("validate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.tokens.validate(ctx, token); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stack", func(b *testing.B) {
		b.ReportAllocs()
		h := s.Handler()
		for b.Loop() {
			req := httptest.NewRequest(http.MethodGet, "/me", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
	})
}
