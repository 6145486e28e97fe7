package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/flexhooks/flexhooks/internal/app"
	"github.com/flexhooks/flexhooks/internal/config"
	"github.com/flexhooks/flexhooks/internal/emulator"
	"github.com/flexhooks/flexhooks/internal/emulator/console"
	"github.com/flexhooks/flexhooks/internal/setup"
)

// Modes of `flexhooks serve`, as its start line names them.
const (
	modeEmbedded = "embedded-emulator" // no account: an in-process emulator, wired and demo-configured
	modeEmulator = "emulator"          // EMULATOR_URL: a running emulator, shared by replicas
	modeTwilio   = "twilio"            // a Twilio account: nothing wired implicitly
)

// runServe runs the service until ctx ends. With no TWILIO_ACCOUNT_SID it
// first starts the Twilio emulator in-process and wires both together as
// `flexhooks setup` would, so that `make run` is a complete demo.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))

	mode := modeTwilio
	var (
		emu     *emulator.Emulator
		appOpts []app.Option
	)
	switch {
	case cfg.Embedded():
		mode = modeEmbedded
		var emuLn net.Listener
		emu, emuLn, err = startEmulator(ctx, cfg.EmulatorAddr, false, log.With("component", "emulator"))
		if err != nil {
			return err
		}
		defer emu.Close()
		go func() {
			if err := emu.ListenAndServe(ctx, emuLn); err != nil {
				log.Error("emulator stopped", "error", err)
			}
		}()
		cfg.AccountSID, cfg.AuthToken = emu.Credentials()
		cfg.EmulatorURL = "http://" + emuLn.Addr().String()
		fillSeeded(&cfg, emu.SeededSIDs())
		// The service tells time by the emulator's virtual clock, so both
		// agree on when a Flex token expires.
		appOpts = append(appOpts, app.WithClock(emu.Now))
	case cfg.EmulatorURL != "":
		mode = modeEmulator
		if cfg, err = app.FromEmulator(ctx, cfg); err != nil {
			return err
		}
	}

	ln, err := listen(ctx, "ADDR", cfg.Addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	if mode == modeEmbedded && os.Getenv("PUBLIC_BASE_URL") == "" {
		// ADDR may name port 0 (tests): Twilio must reach the real one.
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		cfg.PublicBaseURL = "http://localhost:" + port
	}

	if mode == modeEmbedded {
		if err := wireEmbedded(ctx, &cfg, emu, log, stdout); err != nil {
			return fmt.Errorf("wiring the embedded emulator: %w", err)
		}
		emu.Console().SetServiceURL(cfg.PublicBaseURL)
		log.Warn("NO TWILIO ACCOUNT CONFIGURED: running against the embedded Twilio emulator, not Twilio",
			"emulator", cfg.EmulatorURL, "hint", "set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN to use Twilio")
	}
	if cfg.EmulatorURL != "" {
		// The emulator's web console calls this service from the emulator's origin.
		cfg.CORSAllowedOrigins = append(cfg.CORSAllowedOrigins, console.Origins(cfg.EmulatorURL)...)
	}
	log.Info("starting flexhooks", "mode", mode, "config", cfg)

	a, err := app.New(cfg, log, nil, appOpts...)
	if err != nil {
		return err
	}
	printCapabilities(stdout, cfg)
	if mode == modeEmbedded {
		printEmbedded(stdout, cfg)
	}
	fmt.Fprintf(stdout, "flexhooks listening on http://%s (Twilio reaches it at %s)\n", ln.Addr(), cfg.PublicBaseURL)
	// The sweeper finishes what failed operations left behind, fires
	// scheduled unparks and expires old parks (SWEEP_INTERVAL; 0: a
	// CronJob runs `flexhooks sweep` instead).
	go a.RunSweeps(ctx, cfg.SweepInterval)
	return a.Server.Serve(ctx, ln)
}

// fillSeeded takes the emulator's seeded SIDs for what cfg leaves empty.
func fillSeeded(cfg *config.Config, seeded emulator.Seeded) {
	cfg.WorkspaceSID = orDefault(cfg.WorkspaceSID, seeded.WorkspaceSID)
	cfg.ChatServiceSID = orDefault(cfg.ChatServiceSID, seeded.ChatServiceSID)
	cfg.TransferWorkflowSID = orDefault(cfg.TransferWorkflowSID, seeded.TransferWorkflowSID)
}

// wireEmbedded does to the embedded emulator what `flexhooks setup` does to
// an account (the Chat Transfer workflow, the workspace event callback, the
// Conversations webhooks), so that every capability works at once. Only the
// embedded emulator is wired implicitly: a Twilio account, or a shared
// emulator, is changed only by running setup.
func wireEmbedded(ctx context.Context, cfg *config.Config, emu *emulator.Emulator, log *slog.Logger, stdout io.Writer) error {
	tw, err := app.NewTwilio(*cfg, log, nil)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	_, err = setup.Run(ctx, tw, setup.Steps(setup.Config{
		WorkspaceSID: cfg.WorkspaceSID, ChatServiceSID: cfg.ChatServiceSID, PublicBaseURL: cfg.PublicBaseURL,
	}), false, &out)
	if err != nil {
		return err
	}
	// A seed without a "Chat Transfer" workflow has one now.
	fillSeeded(cfg, emu.SeededSIDs())
	fmt.Fprintf(stdout, "Wired the embedded emulator to flexhooks (what `flexhooks setup` does to a Twilio account):\n")
	for _, line := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
		fmt.Fprintf(stdout, "  %s\n", line)
	}
	return nil
}

// printCapabilities says what is on and how to change it.
func printCapabilities(stdout io.Writer, cfg config.Config) {
	fmt.Fprintln(stdout, "Capabilities:")
	for _, line := range cfg.Summary() {
		fmt.Fprintf(stdout, "  %s\n", line)
	}
}

// printEmbedded prints the emulator's address and one line to paste into
// another terminal: everything curl, a second replica (with another ADDR)
// or `flexhooks setup` needs. The credentials are the local emulator's
// fixed pair (localCredentials), the same on every start.
func printEmbedded(stdout io.Writer, cfg config.Config) {
	fmt.Fprintf(stdout, "Twilio emulator on %s (console: %s/, control API: %s/emulator/state); local-only credentials, the same on every start.\n",
		cfg.EmulatorURL, cfg.EmulatorURL, cfg.EmulatorURL)
	fmt.Fprintf(stdout, "In another terminal, paste (a second replica: ADDR=:8081 make run; `go run ./cmd/flexhooks setup --dry-run` works too):\n")
	fmt.Fprintf(stdout, "export TWILIO_ACCOUNT_SID=%s TWILIO_AUTH_TOKEN=%s TWILIO_FLEX_WORKSPACE_SID=%s TWILIO_FLEX_CHAT_SERVICE_SID=%s TWILIO_FLEX_CHAT_TRANSFER_WORKFLOW_SID=%s EMULATOR_URL=%s PUBLIC_BASE_URL=%s E=%s\n",
		cfg.AccountSID, cfg.AuthToken, cfg.WorkspaceSID, cfg.ChatServiceSID, cfg.TransferWorkflowSID, cfg.EmulatorURL, cfg.PublicBaseURL, cfg.EmulatorURL)
}

// listen opens addr, naming the variable to change when the port is taken.
func listen(ctx context.Context, variable, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("%s=%s is already in use (another flexhooks, emulator or program listens there): stop it, or set %s to a free address such as %s",
			variable, addr, variable, freeExample(addr))
	}
	if err != nil {
		return nil, fmt.Errorf("%s=%s: %w", variable, addr, err)
	}
	return ln, nil
}

// freeExample suggests the next port for an address in use.
func freeExample(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	var n int
	if _, err := fmt.Sscan(port, &n); err != nil {
		return addr
	}
	return net.JoinHostPort(host, fmt.Sprint(n+1))
}

func orDefault(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

// loadConfig loads the configuration from the environment and prints every
// problem on its own line, so that an operator fixes them all in one go.
func loadConfig(stderr io.Writer) (config.Config, error) {
	cfg, err := config.Load()
	if err != nil {
		var cerr *config.Error
		if errors.As(err, &cerr) {
			for _, p := range cerr.Problems {
				fmt.Fprintln(stderr, "config:", p)
			}
			if os.Getenv("TWILIO_ACCOUNT_SID") == localAccountSID {
				fmt.Fprintln(stderr, "config: hint: TWILIO_ACCOUNT_SID is the local emulator's (`make run`'s export line is pasted here):",
					"to start the embedded emulator in this terminal, run: unset TWILIO_ACCOUNT_SID TWILIO_AUTH_TOKEN EMULATOR_URL")
			}
			return cfg, fmt.Errorf("invalid configuration (%d problems)", len(cerr.Problems))
		}
		return cfg, err
	}
	return cfg, nil
}
