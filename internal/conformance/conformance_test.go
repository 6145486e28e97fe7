package conformance

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flexhooks/flexhooks/internal/emulator"
	"github.com/flexhooks/flexhooks/internal/emulator/emutest"
	"github.com/flexhooks/flexhooks/internal/twilio"
)

// target is an emulator with its default behaviour (Sync rate limits on)
// and a Client on it built as `flexhooks conformance` builds one.
type target struct {
	srv     *httptest.Server
	client  *Client
	log     *bytes.Buffer
	schemas *emutest.Schemas // nil without Twilio's specs
}

func newTarget(t *testing.T) *target {
	t.Helper()
	emu, err := emulator.New(emulator.Options{AccountSID: emutest.AccountSID, AuthToken: emutest.AuthToken, ManualClock: true})
	require.NoError(t, err)
	t.Cleanup(emu.Close)
	srv := emutest.Serve(t, emu)
	var base http.RoundTripper = http.DefaultTransport
	var schemas *emutest.Schemas
	if emutest.SpecDir() != "" {
		schemas = emutest.LoadSchemas(t)
		base = &schemaCheck{t: t, schemas: schemas, base: base}
	}
	tw, err := twilio.New(twilio.Options{
		AccountSID: emutest.AccountSID, AuthToken: emutest.AuthToken, EmulatorURL: srv.URL,
		Retry: twilio.RetryPolicy{MaxAttempts: 1}, Base: base,
	})
	require.NoError(t, err)
	var log bytes.Buffer
	return &target{srv: srv, client: NewClient(tw, emu.SeededSIDs().WorkspaceSID, &log), log: &log, schemas: schemas}
}

// leftovers is the emulator's state where it names the run's resources.
func (tg *target) leftovers(t *testing.T) []string {
	t.Helper()
	resp, err := http.Get(tg.srv.URL + "/emulator/state")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var found []string
	for _, line := range strings.Split(string(body), Prefix)[1:] {
		found = append(found, Prefix+line[:min(len(line), 30)])
	}
	return found
}

// Every probe agrees with the emulator, and the run leaves nothing behind:
// what `flexhooks conformance` checks on a real account is what the
// emulator's tests check here.
func TestEveryProbeAgreesWithTheEmulator(t *testing.T) {
	tg := newTarget(t)
	results, err := Run(context.Background(), tg.client, Probes())
	require.NoError(t, err, "cleanup")
	require.Len(t, results, len(Probes()))
	for _, r := range results {
		require.NoError(t, r.Err, r.Probe.Name)
		assert.True(t, r.Agree, "%s: expected %q, observed %q", r.Probe.Name, r.Probe.Expected, r.Observed)
	}
	assert.Zero(t, Disagreements(results))
	assert.Empty(t, tg.leftovers(t), "the run removes all it made")
	assert.Contains(t, tg.log.String(), "removed Sync service IS")
	if tg.schemas != nil {
		checked := tg.schemas.Checked()
		for _, op := range []string{"GET /v1/Services 200", "GET /v1/Services/{Sid} 200", "GET /v1/Conversations/{ConversationSid}/Webhooks 200"} {
			assert.NotZero(t, checked[op], "%s checked against Twilio's spec; checked: %v", op, checked)
		}
	}

	var table bytes.Buffer
	WriteTable(&table, "the emulator", results)
	for _, p := range Probes() {
		assert.Contains(t, table.String(), "| `"+p.Name+"` |")
	}
	assert.NotContains(t, table.String(), "| NO |")
	t.Log("\n" + table.String())
}

// A probe that fails, panics or outlives a canceled run still has its
// resources removed, and the others still run.
func TestRunCleansUpAfterFailures(t *testing.T) {
	tg := newTarget(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	made := func(name string, then func()) Probe {
		return Probe{Name: name, Run: func(ctx context.Context, c *Client) (string, bool, error) {
			if _, err := c.Conversation(ctx, name); err != nil {
				return "", false, err
			}
			if _, _, err := c.SyncMap(ctx, name); err != nil {
				return "", false, err
			}
			then()
			return "made", false, nil
		}}
	}
	results, err := Run(ctx, tg.client, []Probe{
		made("panics", func() { panic("boom") }),
		made("disagrees", func() {
			assert.NotEmpty(t, tg.leftovers(t), "the state shows the run's resources (so their absence below means something)")
		}),
		made("cancels", cancel),
		probeSyncPageSize, // not run: the context is canceled
	})
	require.NoError(t, err, "cleanup runs on its own context")
	require.Len(t, results, 4)
	assert.ErrorContains(t, results[0].Err, "probe panicked: boom")
	assert.True(t, results[1].Failed())
	assert.NoError(t, results[1].Err)
	assert.ErrorIs(t, results[3].Err, context.Canceled)
	assert.Equal(t, 4, Disagreements(results))
	assert.Empty(t, tg.leftovers(t))
}

func TestNullLiteralProbeSkipsWithoutAWorkspace(t *testing.T) {
	tg := newTarget(t)
	tg.client.workspaceSID = ""
	results, err := Run(context.Background(), tg.client, []Probe{probeNullLiteral})
	require.NoError(t, err)
	assert.True(t, results[0].Skipped())
	assert.False(t, results[0].Failed(), "a skipped probe is no disagreement")
}

// schemaCheck validates each emulator response against Twilio's OpenAPI
// specs. It sits below the client's rewrite to the emulator, so it reads
// the Twilio host from the Host header.
type schemaCheck struct {
	t       *testing.T
	schemas *emutest.Schemas
	base    http.RoundTripper
}

func (s *schemaCheck) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := s.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	asTwilio := req.Clone(req.Context())
	asTwilio.URL.Host, asTwilio.URL.Scheme = req.Host, "https"
	if err := s.schemas.Check(asTwilio, resp.StatusCode, resp.Header, body); err != nil && !strings.Contains(err.Error(), emutest.ErrNotInSpec.Error()) {
		s.t.Errorf("emulator response fails Twilio's OpenAPI spec: %v", err)
	}
	return resp, nil
}

// docs/twilio-behaviour.md names the probe that pins each row it can: a
// probe added without its row, or renamed, fails here.
func TestEveryProbeIsNamedInTheBehaviourDoc(t *testing.T) {
	doc, err := os.ReadFile("../../docs/twilio-behaviour.md")
	require.NoError(t, err)
	seen := map[string]bool{}
	for _, p := range Probes() {
		assert.False(t, seen[p.Name], "two probes named %s", p.Name)
		seen[p.Name] = true
		assert.Contains(t, string(doc), "`"+p.Name+"`", "docs/twilio-behaviour.md names no row for probe %s", p.Name)
		assert.NotEmpty(t, p.Behaviour, p.Name)
		assert.NotEmpty(t, p.Expected, p.Name)
	}
}
