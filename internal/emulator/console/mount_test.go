package console_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flexhooks/flexhooks/internal/emulator"
)

// TestMountedOnTheEmulator: the emulator serves the console at its root on
// its own host, and leaves Twilio's hosts and its control API as they were.
func TestMountedOnTheEmulator(t *testing.T) {
	emu, err := emulator.New(emulator.Options{ManualClock: true})
	require.NoError(t, err)
	t.Cleanup(emu.Close)
	emu.Console().SetServiceURL("http://localhost:8080")

	for _, tc := range []struct {
		name, host, path string
		want             int
		contains         string
	}{
		{"the page", "127.0.0.1:4010", "/", http.StatusOK, "flexhooks console"},
		{"its script", "127.0.0.1:4010", "/console/js/main.js", http.StatusOK, "import"},
		{"its configuration", "127.0.0.1:4010", "/emulator/console/config", http.StatusOK, `"serviceUrl":"http://localhost:8080"`},
		{"the control API still", "127.0.0.1:4010", "/emulator/clock", http.StatusOK, `"now"`},
		{"a Twilio host is not the console", "taskrouter.twilio.com", "/", http.StatusUnauthorized, "20003"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			req.Host = tc.host
			rec := httptest.NewRecorder()
			emu.ServeHTTP(rec, req)
			assert.Equal(t, tc.want, rec.Code, rec.Body.String())
			assert.Contains(t, rec.Body.String(), tc.contains)
		})
	}
}
