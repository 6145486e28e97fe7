package syncapi

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	syncv1 "github.com/twilio/twilio-go/rest/sync/v1"
)

func TestOpWindow(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tests := []struct {
		name   string
		ops    []time.Duration // offsets from t0 of operations before the probe
		probe  time.Duration
		admits bool
	}{
		{"empty", nil, 0, true},
		{"199 in a burst", repeat(199, 0), 0, true},
		{"200 in a burst", repeat(200, 0), 0, false},
		{"200 in a burst, probe 9.9 s later", repeat(200, 0), 9900 * time.Millisecond, false},
		{"200 in a burst, probe 10 s later", repeat(200, 0), 10 * time.Second, true},
		{"20/s sustained for 20 s", spaced(400, 50*time.Millisecond), 20 * time.Second, true},
		{"25/s for 10 s", spaced(200, 40*time.Millisecond), 8 * time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w opWindow
			for _, d := range tt.ops {
				require.True(t, w.admit(t0.Add(d)), "an operation at %v before the probe was refused", d)
			}
			got := w.admit(t0.Add(tt.probe))
			assert.Equal(t, tt.admits, got)
			if !tt.admits {
				assert.Equal(t, 1, w.throttled)
			}
		})
	}
}

func repeat(n int, d time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

func spaced(n int, every time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(i) * every
	}
	return out
}

// frozen stops the limiter's real-time clock at a settable instant.
func (f *fixture) frozen(t *testing.T) func(time.Duration) {
	t.Helper()
	now := time.Unix(1_000_000, 0)
	f.env.Lock()
	f.store.limits.now = func() time.Time { return now }
	f.env.Unlock()
	return func(d time.Duration) {
		f.env.Lock()
		now = now.Add(d)
		f.env.Unlock()
	}
}

func TestSyncRateLimitPerMap(t *testing.T) {
	f := setup(t)
	advance := f.frozen(t)
	m := f.createMap(t, "busy")
	other := f.createMap(t, "quiet")

	// Item creates and updates count toward the Map's writes.
	for i := range syncWindowOps {
		key := "k" + itoa(i%50)
		if i < 50 {
			f.createItem(t, "busy", key, map[string]any{"n": i})
			continue
		}
		_, err := f.c.SyncV1.UpdateSyncMapItem("default", "busy", key, (&syncv1.UpdateSyncMapItemParams{}).SetData(map[string]any{"n": i}))
		require.NoError(t, err, "write %d", i)
	}
	_, err := f.c.SyncV1.UpdateSyncMapItem("default", *m.Sid, "k1", (&syncv1.UpdateSyncMapItemParams{}).SetData(map[string]any{}))
	twilioErr(t, err, http.StatusTooManyRequests, codeRateLimited)
	err = f.c.SyncV1.DeleteSyncMapItem("default", "busy", "k2", nil)
	twilioErr(t, err, http.StatusTooManyRequests, codeRateLimited)

	// Reads are limited apart from writes, and other maps not at all.
	_, err = f.c.SyncV1.FetchSyncMapItem("default", "busy", "k1")
	require.NoError(t, err)
	f.createItem(t, *other.Sid, "k", map[string]any{})

	// A refused write changed nothing.
	it, err := f.c.SyncV1.FetchSyncMapItem("default", "busy", "k2")
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"n": float64(152)}, *it.Data)

	advance(syncBurstWindow)
	err = f.c.SyncV1.DeleteSyncMapItem("default", "busy", "k2", nil)
	require.NoError(t, err)

	f.env.Lock()
	u := f.store.Usage()
	f.env.Unlock()
	require.NotEmpty(t, u.Objects)
	busy := u.Objects[0]
	assert.Equal(t, *m.Sid, busy.Sid)
	assert.Equal(t, "busy", busy.UniqueName)
	assert.Equal(t, 2, busy.ThrottledWrites)
	assert.Equal(t, syncWindowOps, busy.PeakWrites10s)
	assert.Equal(t, 1, busy.Writes10s)
	assert.Equal(t, 2, busy.PeakReads10s)
}

func TestSyncRateLimitReads(t *testing.T) {
	f := setup(t)
	f.frozen(t)
	f.createMap(t, "read-heavy")
	for i := range syncWindowOps {
		_, err := f.c.SyncV1.FetchSyncMap("default", "read-heavy")
		require.NoError(t, err, "read %d", i)
	}
	_, err := f.c.SyncV1.ListSyncMapItem("default", "read-heavy", nil)
	twilioErr(t, err, http.StatusTooManyRequests, codeRateLimited)
}

// With the limits off (a test that measures the service's own rates does
// this, and says so) nothing is refused but the rates are still counted.
func TestSyncRateLimitOff(t *testing.T) {
	f := setup(t)
	f.frozen(t)
	f.env.Lock()
	f.env.Behaviour.SyncRateLimits = false
	f.env.Unlock()
	f.createMap(t, "unlimited")
	for i := range syncWindowOps + 10 {
		_, err := f.c.SyncV1.FetchSyncMap("default", "unlimited")
		require.NoError(t, err, "read %d", i)
	}
	f.env.Lock()
	u := f.store.Usage()
	f.env.Unlock()
	assert.False(t, u.Enabled)
	assert.Equal(t, 0, u.Objects[0].ThrottledReads)
	assert.Equal(t, syncWindowOps, u.Objects[0].Reads10s)
}
