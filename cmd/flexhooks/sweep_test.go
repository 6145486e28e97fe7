package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	syncv1 "github.com/twilio/twilio-go/rest/sync/v1"

	"github.com/flexhooks/flexhooks/webhooks"
)

// flexhooks sweep against a running emulator: a parked-list item of no
// park is listed by --dry-run, removed by a sweep, and gone for the next.
func TestSweepCommand(t *testing.T) {
	w := onRunningEmulator(t)

	list := webhooks.ParkedListMap("WK00000000000000000000000000000001")
	_, err := w.Twilio.SyncV1.CreateSyncMap("default", (&syncv1.CreateSyncMapParams{}).SetUniqueName(list))
	require.NoError(t, err)
	_, err = w.Twilio.SyncV1.CreateSyncMapItem("default", list, (&syncv1.CreateSyncMapItemParams{}).
		SetKey("CH00000000000000000000000000000099").SetData(map[string]any{"interactionSid": "KD00000000000000000000000000000001"}))
	require.NoError(t, err)
	w.Advance("PT5M") // older than the grace: no park in progress

	sweep := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"sweep"}, args...), &out, &errOut)
		return out.String(), err
	}
	out, err := sweep("--dry-run")
	require.NoError(t, err, out)
	assert.Contains(t, out, "1 repairs planned (dry run: nothing changed)")
	assert.Contains(t, out, webhooks.RepairParkedListStale)
	assert.Contains(t, out, "planned")

	out, err = sweep()
	require.NoError(t, err, out)
	assert.Contains(t, out, "repaired")
	items, err := w.Twilio.SyncV1.ListSyncMapItem("default", list, nil)
	require.NoError(t, err)
	assert.Empty(t, items)

	out, err = sweep("--json")
	require.NoError(t, err)
	assert.Contains(t, out, `"repairs": []`)
}

// Without an account or a running emulator there is nothing to sweep:
// serve's embedded emulator sweeps itself.
func TestSweepNeedsAnAccount(t *testing.T) {
	t.Setenv("TWILIO_ACCOUNT_SID", "")
	t.Setenv("TWILIO_AUTH_TOKEN", "")
	t.Setenv("EMULATOR_URL", "")
	err := run(context.Background(), []string{"sweep"}, &bytes.Buffer{}, &bytes.Buffer{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "sweeps by itself")
}
