package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/flexhooks/flexhooks/internal/config"
)

// FromEmulator completes cfg for a service replica or `flexhooks setup` on
// a running emulator (EMULATOR_URL): the workspace, chat service and
// transfer workflow it leaves empty are the emulator's seeded ones, which it
// names at GET /emulator/seed. It also tells at start, rather than at the
// first request, when no emulator answers there.
func FromEmulator(ctx context.Context, cfg config.Config) (config.Config, error) {
	base := strings.TrimRight(cfg.EmulatorURL, "/")
	ctx, cancel := context.WithTimeout(ctx, cfg.TwilioTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/emulator/seed", nil)
	if err != nil {
		return cfg, fmt.Errorf("EMULATOR_URL=%s: %w", cfg.EmulatorURL, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return cfg, fmt.Errorf("no emulator answers at EMULATOR_URL=%s (%v): start one (`make emulator`, or `make run` in another terminal), "+
			"or run `unset EMULATOR_URL TWILIO_ACCOUNT_SID TWILIO_AUTH_TOKEN` to start an embedded one", cfg.EmulatorURL, err)
	}
	defer resp.Body.Close()
	var seeded struct {
		WorkspaceSid, ChatServiceSid, TransferWorkflowSid string
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&seeded) != nil {
		return cfg, fmt.Errorf("EMULATOR_URL=%s: GET /emulator/seed answered %s: is it a flexhooks emulator?", cfg.EmulatorURL, resp.Status)
	}
	fill := func(v *string, seeded string) {
		if *v == "" {
			*v = seeded
		}
	}
	fill(&cfg.WorkspaceSID, seeded.WorkspaceSid)
	fill(&cfg.ChatServiceSID, seeded.ChatServiceSid)
	fill(&cfg.TransferWorkflowSID, seeded.TransferWorkflowSid)
	return cfg, nil
}

// EmulatorClock is the clock of the emulator at EMULATOR_URL, read once:
// its time then plus the wall time elapsed since. A one-shot command (a
// sweep) on an emulator whose clock a test or a user moved must judge ages
// by it, as the service embedded in serve does.
func EmulatorClock(ctx context.Context, emulatorURL string) (func() time.Time, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(emulatorURL, "/")+"/emulator/clock", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("EMULATOR_URL=%s: reading its clock: %w", emulatorURL, err)
	}
	defer resp.Body.Close()
	var clock struct{ Now time.Time }
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&clock) != nil || clock.Now.IsZero() {
		return nil, fmt.Errorf("EMULATOR_URL=%s: GET /emulator/clock answered %s", emulatorURL, resp.Status)
	}
	read := time.Now()
	return func() time.Time { return clock.Now.Add(time.Since(read)) }, nil
}
