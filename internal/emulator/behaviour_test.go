package emulator_test

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	syncv1 "github.com/twilio/twilio-go/rest/sync/v1"

	"github.com/flexhooks/flexhooks/internal/emulator"
	"github.com/flexhooks/flexhooks/internal/emulator/core"
	"github.com/flexhooks/flexhooks/internal/emulator/emutest"
)

func TestBehaviourControl(t *testing.T) {
	emu, srv := start(t)
	var got core.Behaviour
	require.Equal(t, http.StatusOK, control(t, srv, http.MethodGet, "/emulator/behaviour", "", &got))
	assert.Equal(t, core.DefaultBehaviour(), got)

	require.Equal(t, http.StatusOK, control(t, srv, http.MethodPatch, "/emulator/behaviour", `{"messageAddedSource":false}`, &got))
	want := core.DefaultBehaviour()
	want.MessageAddedSource = false
	assert.Equal(t, want, got)
	assert.Equal(t, want, emu.Behaviour())

	require.Equal(t, http.StatusOK, control(t, srv, http.MethodPut, "/emulator/behaviour", `{"preset":"worst-case"}`, &got))
	assert.Equal(t, core.WorstCaseBehaviour(), emu.Behaviour())

	for _, bad := range []struct{ method, body string }{
		{http.MethodPatch, `{"syncRateLimit":false}`},
		{http.MethodPatch, `{"syncRateLimits":"no"}`},
		{http.MethodPut, `{"preset":"kind"}`},
	} {
		assert.Equal(t, http.StatusBadRequest, control(t, srv, bad.method, "/emulator/behaviour", bad.body, nil), bad.body)
	}
	assert.Equal(t, core.WorstCaseBehaviour(), emu.Behaviour(), "a refused change changes nothing")
}

func TestSeedBehaviour(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seed.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"behaviour":{"closedParticipantsListed":false}}`), 0o600))
	seed, err := emulator.LoadSeedFile(path)
	require.NoError(t, err)
	emu, err := emulator.New(emulator.Options{Seed: seed, ManualClock: true})
	require.NoError(t, err)
	t.Cleanup(emu.Close)
	want := core.DefaultBehaviour()
	want.ClosedParticipantsListed = false
	assert.Equal(t, want, emu.Behaviour())
}

func TestSyncUsageControl(t *testing.T) {
	_, srv := start(t)
	c := emutest.Client(t, srv.URL)
	m, err := c.SyncV1.CreateSyncMap("default", (&syncv1.CreateSyncMapParams{}).SetUniqueName("ParkedInteractions_x"))
	require.NoError(t, err)
	_, err = c.SyncV1.CreateSyncMapItem("default", *m.Sid, (&syncv1.CreateSyncMapItemParams{}).SetKey("a").SetData(map[string]any{}))
	require.NoError(t, err)
	_, err = c.SyncV1.FetchSyncMapItem("default", *m.Sid, "a")
	require.NoError(t, err)

	var u struct {
		Enabled bool
		Objects []struct {
			Sid, UniqueName                                string
			Reads10s, Writes10s, ThrottledWrites           int
			ReadsPerSecond, WritesPerSecond, PeakWrites10s int
		}
	}
	require.Equal(t, http.StatusOK, control(t, srv, http.MethodGet, "/emulator/sync/usage", "", &u))
	assert.True(t, u.Enabled)
	require.Len(t, u.Objects, 1)
	assert.Equal(t, *m.Sid, u.Objects[0].Sid)
	assert.Equal(t, "ParkedInteractions_x", u.Objects[0].UniqueName)
	assert.Equal(t, 1, u.Objects[0].Reads10s)
	assert.Equal(t, 1, u.Objects[0].Writes10s)
	assert.Equal(t, 1, u.Objects[0].PeakWrites10s)
}

func TestWebhookReplayControl(t *testing.T) {
	_, srv := start(t)
	assert.Equal(t, http.StatusNotFound, control(t, srv, http.MethodPost, "/emulator/webhooks/77/replay", "", nil))
	assert.Equal(t, http.StatusBadRequest, control(t, srv, http.MethodPost, "/emulator/webhooks/x/replay", "", nil))
}
