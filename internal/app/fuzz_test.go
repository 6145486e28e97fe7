package app_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	taskrouter "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhooks/flexhooks/internal/app"
	"github.com/flexhooks/flexhooks/internal/config"
	"github.com/flexhooks/flexhooks/internal/emulator"
	"github.com/flexhooks/flexhooks/internal/emulator/core"
	"github.com/flexhooks/flexhooks/internal/emulator/emutest"
	"github.com/flexhooks/flexhooks/internal/emulator/flex"
	"github.com/flexhooks/flexhooks/internal/isoduration"
)

// FuzzHTTP throws arbitrary requests at every route of the service, wired
// as serve wires it (every capability on) to an in-process emulator that
// answers normally, and asserts that none gets a 5xx or panics: bad input
// is always the caller's 4xx. The inputs pick the route, the method, the
// Content-Type and the credentials (none, an agent's or a supervisor's
// valid Flex token, a valid Twilio signature with the service's Basic
// credentials), and supply the path parameter, the query and the body,
// which can be grown past the body limit. The seed corpus is in
// testdata/fuzz/FuzzHTTP; `make fuzz` runs it, CI briefly.
//
// So that inputs reach past "not found", the emulator starts with one live
// contact (an SMS conversation, its interaction and task, accepted by
// alice), and $CH $KD $UO $UT $MB $WT $WK $WS $WW $WQ in the path
// parameter, query and body are replaced with its SIDs. (Long spells of
// "0/sec" in its output are the fuzzer minimizing an interesting input.)
func FuzzHTTP(f *testing.F) {
	h := newFuzzHarness(f)
	f.Add(uint8(0), uint8(0), uint8(1), uint8(1), "CH0123456789abcdef0123456789abcdef", "", []byte(`{"conversationSid":"CH0123456789abcdef0123456789abcdef"}`))
	f.Add(uint8(1), uint8(0), uint8(2), uint8(3), "x", "a=b", []byte("EventType=onMessageAdded&ConversationSid=CH0123456789abcdef0123456789abcdef"))
	f.Fuzz(func(t *testing.T, route, method, ctype, auth uint8, param, query string, body []byte) {
		param, query, body = h.sids.Replace(param), h.sids.Replace(query), []byte(h.sids.Replace(string(body)))
		req := h.request(route, method, ctype, auth, param, query, body)
		rec := httptest.NewRecorder()
		start := time.Now()
		h.handler.ServeHTTP(rec, req)
		if d := time.Since(start); d > 15*time.Second {
			// Past the 10s request deadline: the request ignores it and
			// waits for something that will not come.
			t.Fatalf("%s %s (Content-Type %q, auth %d, %d-byte body %.200q) took %s: %d %s",
				req.Method, req.URL, req.Header.Get("Content-Type"), auth%4, len(body), body, d, rec.Code, rec.Body)
		}
		if rec.Code >= 500 {
			t.Fatalf("%s %s (Content-Type %q, auth %d, %d-byte body %.200q): %d %s",
				req.Method, req.URL, req.Header.Get("Content-Type"), auth%4, len(body), body, rec.Code, rec.Body)
		}
	})
}

type fuzzHarness struct {
	handler     http.Handler
	routes      [][2]string // method, pattern
	authToken   string
	basic       [2]string
	agent       string // Flex tokens
	supervisor  string
	publicBase  string
	maxBodySize int
	sids        *strings.Replacer // $CH… placeholders → the live contact's SIDs
}

func newFuzzHarness(f *testing.F) *fuzzHarness {
	emu, err := emulator.New(emulator.Options{AccountSID: emutest.AccountSID, AuthToken: emutest.AuthToken, ManualClock: true})
	require.NoError(f, err)
	// Sync's rate limits off, and only here: the fuzzer sends thousands of
	// requests a second at one contact's Sync items, far past Twilio's 20
	// per object, and the 503 a throttled call rightly answers would hide
	// the 5xx it is looking for. Throttling itself is tested in syncapi and
	// internal/twilio, and under load in webhooks' BenchmarkSustainedLoad.
	b := emu.Behaviour()
	b.SyncRateLimits = false
	emu.SetBehaviour(b)
	emuSrv := httptest.NewServer(emu)
	f.Cleanup(func() { emuSrv.Close(); emu.Close() })
	sid, token := emu.Credentials()
	// Every capability on; one attempt per Twilio call, so a slow input
	// shows as itself rather than as retries.
	cfg := emulatorConfig(emu, emuSrv.URL)
	cfg.TwilioMaxAttempts, cfg.PublicBaseURL, cfg.MaxRequestBodyBytes = 1, "https://flexhooks.example.com", 64<<10
	cfg.ParkedList, cfg.InteractionRecords = true, true
	cfg.InactivityTimeout, cfg.InactivityWarning = isoduration.Duration(30*time.Minute), isoduration.Duration(25*time.Minute)
	cfg.InactivityMessage, cfg.InactivityWarningMessage = "closed", "still there?"
	cfg.PersistentChat, cfg.PersistentChatWindow = config.PersistentChatEntirePastSession, isoduration.Duration(7*24*time.Hour)
	a, err := app.New(cfg, slog.New(slog.DiscardHandler), nil, app.WithClock(emu.Now))
	require.NoError(f, err)
	h := &fuzzHarness{handler: a.Server.Handler(), authToken: token, basic: [2]string{sid, token},
		publicBase: cfg.PublicBaseURL, maxBodySize: int(cfg.MaxRequestBodyBytes)}
	for _, r := range a.Routes {
		h.routes = append(h.routes, [2]string{r.Method, r.Pattern})
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		h.routes = append(h.routes, [2]string{http.MethodGet, p})
	}
	h.sids = liveContact(f, emuSrv.URL, emu.SeededSIDs())
	h.agent = fuzzToken(f, emuSrv.URL, "alice", "agent")
	h.supervisor = fuzzToken(f, emuSrv.URL, "bob", "agent", "supervisor")
	return h
}

// liveContact makes a customer write in by SMS and alice accept the task,
// and returns the replacer of placeholders by the contact's SIDs.
func liveContact(f *testing.F, emuURL string, seeded emulator.Seeded) *strings.Replacer {
	resp, err := http.Post(emuURL+"/emulator/inbound", "application/json",
		strings.NewReader(`{"from":"+15551230001","to":"+15550009999","channel":"sms","body":"hello"}`))
	require.NoError(f, err)
	var in flex.InboundResult
	require.NoError(f, json.NewDecoder(resp.Body).Decode(&in))
	resp.Body.Close()
	tw := emutest.Client(f, emuURL)
	ws := seeded.WorkspaceSID
	res, err := tw.TaskrouterV1.ListTaskReservation(ws, in.TaskSid, &taskrouter.ListTaskReservationParams{})
	require.NoError(f, err)
	require.NotEmpty(f, res)
	_, err = tw.TaskrouterV1.UpdateTaskReservation(ws, in.TaskSid, *res[0].Sid,
		(&taskrouter.UpdateTaskReservationParams{}).SetReservationStatus("accepted"))
	require.NoError(f, err)
	channels, err := tw.FlexV1.ListInteractionChannel(in.InteractionSid, nil)
	require.NoError(f, err)
	require.NotEmpty(f, channels)
	parts, err := tw.FlexV1.ListInteractionChannelParticipant(in.InteractionSid, *channels[0].Sid, nil)
	require.NoError(f, err)
	ut := ""
	for _, p := range parts {
		if p.Type != nil && *p.Type == "agent" {
			ut = *p.Sid
		}
	}
	members, err := tw.ConversationsV1.ListConversationParticipant(in.ConversationSid, nil)
	require.NoError(f, err)
	require.NotEmpty(f, members)
	task, err := tw.TaskrouterV1.FetchTask(ws, in.TaskSid)
	require.NoError(f, err)
	return strings.NewReplacer("$CH", in.ConversationSid, "$KD", in.InteractionSid, "$UO", *channels[0].Sid, "$UT", ut,
		"$MB", *members[0].Sid, "$WT", in.TaskSid, "$WK", *res[0].WorkerSid, "$WS", ws, "$WW", *task.WorkflowSid,
		"$WQ", *task.TaskQueueSid)
}

func fuzzToken(f *testing.F, emuURL, worker string, roles ...string) string {
	b, _ := json.Marshal(map[string]any{"roles": roles, "ttl": "PT24H"})
	resp, err := http.Post(emuURL+"/emulator/workers/"+worker+"/token", "application/json", bytes.NewReader(b))
	require.NoError(f, err)
	defer resp.Body.Close()
	var out struct{ Token string }
	require.NoError(f, json.NewDecoder(resp.Body).Decode(&out))
	require.NotEmpty(f, out.Token)
	return out.Token
}

var (
	fuzzMethods      = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions, "BREW"}
	fuzzContentTypes = []string{"", "application/json", "application/x-www-form-urlencoded", "text/plain",
		"multipart/form-data; boundary=x", "application/json; charset=utf-8",
		"application/x-www-form-urlencoded; charset=ISO-8859-1", ";;=garbage"}
)

// request builds the fuzzed request. method picks the route's own method
// half the time; auth's low two bits pick the credentials and its 0x10 bit
// grows the body past the limit.
func (h *fuzzHarness) request(route, method, ctype, auth uint8, param, query string, body []byte) *http.Request {
	rt := h.routes[int(route)%len(h.routes)]
	m := rt[0]
	if method%2 == 1 {
		m = fuzzMethods[int(method/2)%len(fuzzMethods)]
	}
	path := fuzzPath(rt[1], param)
	if auth&0x10 != 0 {
		body = bytes.Repeat(append(body, ' '), h.maxBodySize/(len(body)+1)+1)
	}
	req, err := http.NewRequest(m, "http://flexhooks.test"+path+"?"+strings.TrimLeft(query, "?"), bytes.NewReader(body))
	if err != nil { // a query net/http cannot parse never reaches a handler
		req, _ = http.NewRequest(m, "http://flexhooks.test"+path, bytes.NewReader(body))
	}
	req.RequestURI = req.URL.RequestURI()
	ct := fuzzContentTypes[int(ctype)%len(fuzzContentTypes)]
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	switch auth % 4 {
	case 1:
		req.Header.Set("Authorization", "Bearer "+h.agent)
	case 2:
		req.Header.Set("Authorization", "Bearer "+h.supervisor)
	case 3:
		h.sign(req, body)
	}
	return req
}

// fuzzPath puts param into each {placeholder} of a chi pattern.
func fuzzPath(pattern, param string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(pattern, '{')
		j := strings.IndexByte(pattern, '}')
		if i < 0 || j < i {
			b.WriteString(pattern)
			return b.String()
		}
		b.WriteString(pattern[:i])
		b.WriteString(url.PathEscape(param))
		pattern = pattern[j+1:]
	}
}

// sign adds a valid X-Twilio-Signature (over the form parameters, or over a
// bodySHA256 query parameter for a JSON body) and the service's Basic
// credentials.
func (h *fuzzHarness) sign(req *http.Request, body []byte) {
	var params url.Values
	if strings.HasPrefix(req.Header.Get("Content-Type"), "application/json") {
		sum := sha256.Sum256(body)
		q := req.URL.Query()
		q.Set("bodySHA256", hex.EncodeToString(sum[:]))
		req.URL.RawQuery = q.Encode()
		req.RequestURI = req.URL.RequestURI()
	} else {
		params, _ = url.ParseQuery(string(body))
	}
	req.Header.Set("X-Twilio-Signature", core.Signature(h.authToken, h.publicBase+req.URL.RequestURI(), params))
	req.SetBasicAuth(h.basic[0], h.basic[1])
}
