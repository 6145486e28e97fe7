package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flexhooks/flexhooks/internal/conformance"
	"github.com/flexhooks/flexhooks/internal/emulator"
	"github.com/flexhooks/flexhooks/internal/emulator/emutest"
)

// unsetTwilio empties the environment a developer's shell may carry.
func unsetTwilio(t *testing.T) {
	for _, v := range []string{"TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_API_KEY", "TWILIO_API_SECRET", "EMULATOR_URL",
		"PUBLIC_BASE_URL", "TWILIO_FLEX_WORKSPACE_SID", "TWILIO_FLEX_CHAT_SERVICE_SID", "EMULATOR_SEED"} {
		t.Setenv(v, "")
		require.NoError(t, os.Unsetenv(v))
	}
}

// With no credentials, `flexhooks conformance` runs every probe against an
// emulator of its own, and every probe agrees.
func TestConformanceOnTheEmbeddedEmulator(t *testing.T) {
	unsetTwilio(t)
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"conformance"}, &out, &errOut)
	require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", &out, &errOut)
	table := out.String()
	assert.Contains(t, table, "against the embedded Twilio emulator")
	assert.Contains(t, table, "| probe | behaviour | expected | observed | agree |")
	for _, p := range conformance.Probes() {
		assert.Regexp(t, "\\| `"+p.Name+"` \\|.*\\| yes \\|\n", table)
	}
	assert.NotContains(t, table, "open an issue", "the emulator is not Twilio: nothing to report")
	assert.Contains(t, errOut.String(), "removed Sync service IS")
}

// A disagreement (here, a running emulator made to answer 404 where the
// probe expects a services list) makes the command fail, and the table says
// which probe.
func TestConformanceFailsOnADisagreement(t *testing.T) {
	unsetTwilio(t)
	url := startSharedEmulator(t)
	t.Setenv("TWILIO_ACCOUNT_SID", emutest.AccountSID)
	t.Setenv("TWILIO_AUTH_TOKEN", emutest.AuthToken)
	t.Setenv("EMULATOR_URL", url)
	putFaults(t, url, []emulator.Fault{{Host: emulator.HostConversations, Method: "GET", Path: "^/v1/Services$", Status: 404}})

	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"conformance", "--probe", "conversations-services,sync-item-if-match"}, &out, &errOut)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "1 of 2 probes disagree")
	assert.Contains(t, out.String(), "against the Twilio emulator at "+url)
	assert.Regexp(t, "\\| `conversations-services` \\|.*list: HTTP 404, error 20404 \\| NO \\|", out.String())
	assert.Regexp(t, "\\| `sync-item-if-match` \\|.* \\| yes \\|", out.String())
}

func TestConformanceNamesAnUnknownProbe(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"conformance", "--probe", "bogus"}, &out, &errOut)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `no probe "bogus"`)
	assert.Contains(t, err.Error(), "sync-rate-limit")
}

// startSharedEmulator runs an emulator as `flexhooks emulator` does, for
// the command to reach at EMULATOR_URL.
func startSharedEmulator(t *testing.T) string {
	t.Helper()
	emu, err := emulator.New(emulator.Options{AccountSID: emutest.AccountSID, AuthToken: emutest.AuthToken, ManualClock: true})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = emu.ListenAndServe(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done; emu.Close() })
	return "http://" + ln.Addr().String()
}

func putFaults(t *testing.T, url string, rules []emulator.Fault) {
	t.Helper()
	body, err := json.Marshal(rules)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPut, url+"/emulator/faults", strings.NewReader(string(body)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Less(t, resp.StatusCode, 300)
}
