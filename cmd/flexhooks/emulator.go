package main

import (
	"context"
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
	emu.Console().SetServiceURL(os.Getenv("PUBLIC_BASE_URL")) // where the replicas are, for the console's page
	sid, token := emu.Credentials()
	seeded := emu.SeededSIDs()
	fmt.Fprintf(stdout, "Twilio emulator listening on http://%s (console: http://%s/)\n", ln.Addr(), ln.Addr())
	fmt.Fprintf(stdout, "TWILIO_ACCOUNT_SID=%s\nTWILIO_AUTH_TOKEN=%s\n", sid, token)
	fmt.Fprintf(stdout, "TWILIO_FLEX_WORKSPACE_SID=%s\nTWILIO_FLEX_CHAT_SERVICE_SID=%s\nTWILIO_FLEX_CHAT_TRANSFER_WORKFLOW_SID=%s\n",
		seeded.WorkspaceSID, seeded.ChatServiceSID, seeded.TransferWorkflowSID)
	return emu.ListenAndServe(ctx, ln)
}

// startEmulator builds an emulator from the environment (credentials, seed
// file) and opens its listener.
func startEmulator(ctx context.Context, addr string, manual bool, log *slog.Logger) (*emulator.Emulator, net.Listener, error) {
	opts := emulator.Options{
		AccountSID:  os.Getenv("TWILIO_ACCOUNT_SID"),
		AuthToken:   os.Getenv("TWILIO_AUTH_TOKEN"),
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
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		emu.Close()
		return nil, nil, fmt.Errorf("emulator: listen on %s: %w", addr, err)
	}
	return emu, ln, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
