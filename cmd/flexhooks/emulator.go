package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"

	"github.com/flexhooks/flexhooks/internal/emulator"
)

// runEmulator runs the Twilio emulator alone, so that several service
// replicas (EMULATOR_URL) can share one world.
func runEmulator(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", envOr("EMULATOR_ADDR", "127.0.0.1:4010"), "listen address")
	manual := fs.Bool("manual-clock", false, "virtual clock moves only through POST /emulator/clock")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	emu, ln, err := startEmulator(ctx, *addr, *manual, log)
	if err != nil {
		return err
	}
	defer emu.Close()
	sid, token := emu.Credentials()
	seeded := emu.SeededSIDs()
	url := "http://" + ln.Addr().String()
	emu.Console().SetServiceURL(os.Getenv("PUBLIC_BASE_URL")) // where the replicas are, for the console's page
	fmt.Fprintf(stdout, "Twilio emulator listening on %s (console: %s/)\n", url, url)
	fmt.Fprintf(stdout, "For flexhooks replicas and `flexhooks setup` on it, paste (then ADDR=:8080 make run, ADDR=:8081 make run…; run setup once):\n")
	fmt.Fprintf(stdout, "export TWILIO_ACCOUNT_SID=%s TWILIO_AUTH_TOKEN=%s TWILIO_FLEX_WORKSPACE_SID=%s TWILIO_FLEX_CHAT_SERVICE_SID=%s TWILIO_FLEX_CHAT_TRANSFER_WORKFLOW_SID=%s EMULATOR_URL=%s E=%s\n",
		sid, token, seeded.WorkspaceSID, seeded.ChatServiceSID, seeded.TransferWorkflowSID, url, url)
	return emu.ListenAndServe(ctx, ln)
}

// The local emulator's credentials, used when TWILIO_ACCOUNT_SID and
// TWILIO_AUTH_TOKEN are not set: derived from fixed text, so that every
// start of `make run` or `make emulator` accepts the pair a terminal was
// given before, and so that anyone can compute them. They protect nothing:
// they are for an emulator listening on 127.0.0.1, never for Twilio (whose
// accounts they cannot name) nor for an emulator reachable from a network.
var localAccountSID, localAuthToken = localCredentials()

func localCredentials() (accountSID, authToken string) {
	sid := sha256.Sum256([]byte("flexhooks local emulator account (not a Twilio account)"))
	token := sha256.Sum256([]byte("flexhooks local emulator auth token (public, local-only)"))
	return "AC" + hex.EncodeToString(sid[:16]), hex.EncodeToString(token[:16])
}

// startEmulator builds an emulator from the environment (credentials, seed
// file) and opens its listener.
func startEmulator(ctx context.Context, addr string, manual bool, log *slog.Logger) (*emulator.Emulator, net.Listener, error) {
	opts := emulator.Options{
		AccountSID:  envOr("TWILIO_ACCOUNT_SID", localAccountSID),
		AuthToken:   envOr("TWILIO_AUTH_TOKEN", localAuthToken),
		ManualClock: manual,
		Logger:      log,
	}
	if path := os.Getenv("EMULATOR_SEED"); path != "" {
		seed, err := emulator.LoadSeedFile(path)
		if err != nil {
			return nil, nil, err
		}
		opts.Seed = seed
	}
	emu, err := emulator.New(opts)
	if err != nil {
		return nil, nil, err
	}
	ln, err := listen(ctx, "EMULATOR_ADDR", addr)
	if err != nil {
		emu.Close()
		return nil, nil, err
	}
	return emu, ln, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
