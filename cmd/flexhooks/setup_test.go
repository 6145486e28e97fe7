package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flexhooks/flexhooks/internal/e2etest"
	"github.com/flexhooks/flexhooks/internal/emulator/emutest"
)

// onRunningEmulator starts an emulator (with a service, unused) and points
// the commands' environment at it, as `make run`'s export line does, with
// no workspace nor chat service: the commands ask the emulator for them.
func onRunningEmulator(t *testing.T) *e2etest.World {
	t.Helper()
	w := e2etest.Start(t, e2etest.Options{})
	t.Setenv("TWILIO_ACCOUNT_SID", emutest.AccountSID)
	t.Setenv("TWILIO_AUTH_TOKEN", emutest.AuthToken)
	t.Setenv("EMULATOR_URL", w.EmuURL)
	t.Setenv("TWILIO_FLEX_WORKSPACE_SID", "")
	t.Setenv("TWILIO_FLEX_CHAT_SERVICE_SID", "")
	t.Setenv("PUBLIC_BASE_URL", "http://localhost:8080")
	return w
}

func TestSetupCommandOnTheEmulator(t *testing.T) {
	w := onRunningEmulator(t)

	setup := func(args ...string) string {
		var out, errOut bytes.Buffer
		require.NoError(t, run(context.Background(), append([]string{"setup"}, args...), &out, &errOut), errOut.String())
		return out.String()
	}
	out := setup("--dry-run")
	assert.Contains(t, out, "would change")
	assert.Contains(t, setup(), "changed")
	out = setup()
	assert.NotContains(t, out, "changed", "the second run changes nothing")
	assert.Contains(t, out, "TWILIO_FLEX_CHAT_TRANSFER_WORKFLOW_SID="+w.Seeded.TransferWorkflowSID)
}

func TestSetupNamesAMissingEmulator(t *testing.T) {
	t.Setenv("TWILIO_ACCOUNT_SID", localAccountSID)
	t.Setenv("TWILIO_AUTH_TOKEN", localAuthToken)
	t.Setenv("EMULATOR_URL", "http://127.0.0.1:1")
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"setup"}, &out, &errOut)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no emulator answers at EMULATOR_URL=http://127.0.0.1:1")
	assert.Contains(t, err.Error(), "unset EMULATOR_URL TWILIO_ACCOUNT_SID TWILIO_AUTH_TOKEN")
}
