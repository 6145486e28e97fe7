package twilio

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	twclient "github.com/twilio/twilio-go/client"
	conversations "github.com/twilio/twilio-go/rest/conversations/v1"

	"github.com/flexhooks/flexhooks/internal/rewrite"
)

var sinkAPI *API

// BenchmarkAPI measures building the per-request services.
func BenchmarkAPI(b *testing.B) {
	c, err := New(Options{AccountSID: testAccountSID, AuthToken: testAuthToken})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		sinkAPI = c.API(ctx)
	}
}

// BenchmarkGet is one FetchConversation through the whole stack (ctx,
// error body, metrics, retry, timeout, rewrite) against a local server.
func BenchmarkGet(b *testing.B) {
	srv, _ := serve(b, okConversation)
	c, err := New(Options{AccountSID: testAccountSID, AuthToken: testAuthToken, EmulatorURL: srv.URL, Registerer: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.API(ctx).Conversations.FetchConversation(testConvSID); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetBare is the same call with twilio-go and the rewrite only,
// the baseline for what the stack costs.
func BenchmarkGetBare(b *testing.B) {
	srv, _ := serve(b, okConversation)
	target, _ := url.Parse(srv.URL)
	cc := &twclient.Client{
		Credentials: twclient.NewCredentials(testAccountSID, testAuthToken),
		HTTPClient:  &http.Client{Transport: &rewrite.Transport{Target: target, Base: newHTTPTransport()}},
	}
	cc.SetAccountSid(testAccountSID)
	svc := conversations.NewApiService(&twclient.RequestHandler{Client: cc})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := svc.FetchConversation(testConvSID); err != nil {
			b.Fatal(err)
		}
	}
}
