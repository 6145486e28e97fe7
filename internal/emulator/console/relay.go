package console

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// relayCall is a Twilio REST call the page may relay: what a Flex UI does
// against Twilio directly rather than through flexhooks.
type relayCall struct {
	host   string
	method string
	path   *regexp.Regexp
	does   string
}

// relayCalls are the only calls the relay passes on. The control API is
// open to anyone who reaches the emulator, but the relay carries the
// account's credentials, so it forwards what the page needs and nothing else.
var relayCalls = map[string][]relayCall{
	"taskrouter": {
		{"taskrouter.twilio.com", http.MethodPost, regexp.MustCompile(`^/v1/Workspaces/WS[0-9a-f]{32}/Tasks/WT[0-9a-f]{32}/Reservations/WR[0-9a-f]{32}$`),
			"an agent accepts or rejects a reservation"},
		{"taskrouter.twilio.com", http.MethodPost, regexp.MustCompile(`^/v1/Workspaces/WS[0-9a-f]{32}/Workers/WK[0-9a-f]{32}$`),
			"an agent changes activity"},
		{"taskrouter.twilio.com", http.MethodPost, regexp.MustCompile(`^/v1/Workspaces/WS[0-9a-f]{32}$`),
			"the workspace's event callback points at flexhooks, as flexhooks setup does"},
	},
	"conversations": {
		{"conversations.twilio.com", http.MethodPost, regexp.MustCompile(`^/v1/Conversations/CH[0-9a-f]{32}/Messages$`),
			"an agent writes in a conversation"},
		{"conversations.twilio.com", http.MethodPost, regexp.MustCompile(`^/v1/Services/IS[0-9a-f]{32}/Configuration/Webhooks$`),
			"the Conversations service's webhook points at flexhooks, as flexhooks setup does"},
	},
}

// settleTimeout bounds how long a relayed call waits for its webhooks.
const settleTimeout = 30 * time.Second

// relay passes POST /emulator/console/twilio/{product}/{path} to the Twilio
// REST API on the emulator as twilio-go would send it (Host header, basic
// auth, the same form body), waits for the webhooks it caused unless
// ?wait=false, and answers Twilio's answer unchanged.
func (c *Console) relay(w http.ResponseWriter, r *http.Request) {
	product, path, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, relayPrefix), "/")
	path = "/" + path
	call, ok := findRelayCall(product, r.Method, path)
	if !ok {
		writeError(w, http.StatusForbidden, "the console relays only an agent's reservation answers, activity changes and messages, and the callbacks flexhooks setup provisions, not "+r.Method+" "+product+" "+path)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "reading body: "+err.Error())
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), call.method, "http://"+call.host+path, bytes.NewReader(body))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	req.Host = call.host
	req.Header.Set("Content-Type", r.Header.Get("Content-Type"))
	req.Header.Set("Accept", "application/json")
	if v := r.Header.Get("X-Twilio-Webhook-Enabled"); v != "" {
		// A Flex agent writes through the Conversations SDK, which fires
		// webhooks; a REST create does only with this header.
		req.Header.Set("X-Twilio-Webhook-Enabled", v)
	}
	req.SetBasicAuth(c.opts.AccountSID, c.opts.AuthToken)
	var out bufferedResponse
	c.opts.Twilio.ServeHTTP(&out, req)
	if out.status < 300 && r.URL.Query().Get("wait") != "false" && c.opts.Settle != nil {
		ctx, cancel := context.WithTimeout(r.Context(), settleTimeout)
		defer cancel()
		if err := c.opts.Settle(ctx); err != nil {
			writeError(w, http.StatusGatewayTimeout, "Twilio answered, but its webhooks are still in flight after "+settleTimeout.String()+": "+err.Error())
			return
		}
	}
	out.writeTo(w)
}

func findRelayCall(product, method, path string) (relayCall, bool) {
	for _, call := range relayCalls[product] {
		if call.method == method && call.path.MatchString(path) {
			return call, true
		}
	}
	return relayCall{}, false
}

// bufferedResponse holds Twilio's answer while the relay waits for webhooks.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header {
	if b.header == nil {
		b.header = http.Header{}
	}
	return b.header
}

func (b *bufferedResponse) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	b.WriteHeader(http.StatusOK)
	return b.body.Write(p)
}

func (b *bufferedResponse) writeTo(w http.ResponseWriter) {
	for k, vs := range b.header {
		w.Header()[k] = vs
	}
	w.WriteHeader(max(b.status, http.StatusOK))
	_, _ = w.Write(b.body.Bytes())
}
