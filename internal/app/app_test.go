package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flexhooks/flexhooks/internal/app"
	"github.com/flexhooks/flexhooks/internal/config"
	"github.com/flexhooks/flexhooks/internal/emulator"
)

// start wires the service, as serve does, to an emulator over HTTP.
func start(t *testing.T) (emuURL string, svc *httptest.Server) {
	t.Helper()
	return startWith(t, false)
}

// startWith is start, telling time by the emulator's clock as embedded
// mode does when onEmulatorClock is set.
func startWith(t *testing.T, onEmulatorClock bool) (emuURL string, svc *httptest.Server) {
	t.Helper()
	emu, err := emulator.New(emulator.Options{ManualClock: true})
	require.NoError(t, err)
	emuSrv := httptest.NewServer(emu)
	t.Cleanup(func() { emuSrv.Close(); emu.Close() })
	cfg := emulatorConfig(emu, emuSrv.URL)
	var opts []app.Option
	if onEmulatorClock {
		opts = append(opts, app.WithClock(emu.Now))
	}
	a, err := app.New(cfg, nil, nil, opts...)
	require.NoError(t, err)
	svc = httptest.NewServer(a.Server.Handler())
	t.Cleanup(svc.Close)
	return emuSrv.URL, svc
}

func do(t *testing.T, method, url, body string, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestFlexTokenIsValidatedOnceThenCached(t *testing.T) {
	emuURL, svc := start(t)
	_, body := do(t, http.MethodPost, emuURL+"/emulator/workers/alice/token", "", nil)
	var tok struct{ Token string }
	require.NoError(t, json.Unmarshal([]byte(body), &tok))
	do(t, http.MethodDelete, emuURL+"/emulator/requests", "", nil)

	auth := http.Header{"Authorization": {"Bearer " + tok.Token}}
	for range 3 {
		status, body := do(t, http.MethodGet, svc.URL+"/parked-interactions", "", auth)
		require.Equal(t, http.StatusOK, status, body)
	}
	_, log := do(t, http.MethodGet, emuURL+"/emulator/requests", "", nil)
	assert.Equal(t, 1, strings.Count(log, "/Tokens/validate"), "three calls, one IAM validation: %s", log)

	status, _ := do(t, http.MethodGet, svc.URL+"/parked-interactions", "", nil)
	assert.Equal(t, http.StatusUnauthorized, status, "no token")
	status, _ = do(t, http.MethodGet, svc.URL+"/parked-interactions", "", http.Header{"Authorization": {"Bearer forged"}})
	assert.Equal(t, http.StatusForbidden, status, "a token IAM does not know")
}

func TestIAMDownIsServiceUnavailable(t *testing.T) {
	emuURL, svc := start(t)
	status, _ := do(t, http.MethodPut, emuURL+"/emulator/faults", `[{"host":"iam.twilio.com","status":503}]`, nil)
	require.Equal(t, http.StatusOK, status)
	status, body := do(t, http.MethodGet, svc.URL+"/parked-interactions", "", http.Header{"Authorization": {"Bearer anything"}})
	assert.Equal(t, http.StatusServiceUnavailable, status, body)
}

func TestProbesAndCORS(t *testing.T) {
	_, svc := start(t)
	status, _ := do(t, http.MethodGet, svc.URL+"/healthz", "", nil)
	assert.Equal(t, http.StatusOK, status)
	status, body := do(t, http.MethodGet, svc.URL+"/readyz", "", nil)
	assert.Equal(t, http.StatusOK, status, body)

	req, _ := http.NewRequest(http.MethodOptions, svc.URL+"/park-interaction", nil)
	req.Header.Set("Origin", "https://flex.twilio.com")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Less(t, resp.StatusCode, 300)
	assert.Equal(t, "https://flex.twilio.com", resp.Header.Get("Access-Control-Allow-Origin"))

	req.Header.Set("Origin", "https://evil.example")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"), "other origins get no CORS grant")
}

func TestUnsignedWebhookIsRejected(t *testing.T) {
	_, svc := start(t)
	status, body := do(t, http.MethodPost, svc.URL+"/webhooks/unpark-interaction", "EventType=onMessageAdded",
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "X-Twilio-Signature": {"bm90IGEgc2lnbmF0dXJl"}})
	assert.Equal(t, http.StatusForbidden, status, body)
	assert.Contains(t, body, `"code":"forbidden"`)
}

func TestCapabilityOffNamesItsVariable(t *testing.T) {
	_, svc := start(t)
	for _, path := range []string{"/interactions/CH00000000000000000000000000000000", "/interactions?address=x", "/persistent-chat"} {
		method := http.MethodGet
		if path == "/persistent-chat" {
			method = http.MethodPost
		}
		status, body := do(t, method, svc.URL+path, "", nil)
		assert.Equal(t, http.StatusNotFound, status, path)
		assert.Contains(t, body, "INTERACTION_RECORDS=true", path)
	}
}

// emulatorConfig is a service configuration for an in-process emulator
// served at url: its credentials and seeded SIDs, and the defaults Load gives.
func emulatorConfig(emu *emulator.Emulator, url string) config.Config {
	sid, token := emu.Credentials()
	seeded := emu.SeededSIDs()
	return config.Config{
		AccountSID: sid, AuthToken: token, EmulatorURL: url,
		WorkspaceSID: seeded.WorkspaceSID, ChatServiceSID: seeded.ChatServiceSID, SyncServiceSID: "default",
		TransferWorkflowSID: seeded.TransferWorkflowSID,
		TwilioTimeout:       5 * time.Second, TwilioMaxAttempts: 3,
		PublicBaseURL: "http://localhost:8080", CORSAllowedOrigins: []string{"https://flex.twilio.com"},
		MaxRequestBodyBytes: 1 << 20, ParkedTTL: 24 * time.Hour, FlexTokenRevalidateAfter: 5 * time.Minute,
	}
}
