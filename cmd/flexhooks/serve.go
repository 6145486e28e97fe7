package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/flexhooks/flexhooks/internal/app"
	"github.com/flexhooks/flexhooks/internal/config"
	"github.com/flexhooks/flexhooks/internal/emulator/console"
)

// runServe runs the service until ctx ends. With no TWILIO_ACCOUNT_SID it
// first starts the Twilio emulator in-process and wires itself to it.
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
	embedded := cfg.Embedded() && cfg.EmulatorURL == ""
	var appOpts []app.Option

	if embedded {
		emu, ln, err := startEmulator(ctx, cfg.EmulatorAddr, false, log.With("component", "emulator"))
		if err != nil {
			return err
		}
		defer emu.Close()
		go func() {
			if err := emu.ListenAndServe(ctx, ln); err != nil {
				log.Error("emulator stopped", "error", err)
			}
		}()
		sid, token := emu.Credentials()
		seeded := emu.SeededSIDs()
		cfg.AccountSID, cfg.AuthToken = sid, token
		appOpts = append(appOpts, app.WithClock(emu.Now))
		cfg.EmulatorURL = "http://" + ln.Addr().String()
		cfg.WorkspaceSID = orDefault(cfg.WorkspaceSID, seeded.WorkspaceSID)
		cfg.ChatServiceSID = orDefault(cfg.ChatServiceSID, seeded.ChatServiceSID)
		cfg.TransferWorkflowSID = orDefault(cfg.TransferWorkflowSID, seeded.TransferWorkflowSID)
		emu.Console().SetServiceURL(cfg.PublicBaseURL)
		log.Warn("NO TWILIO ACCOUNT CONFIGURED: running against the embedded Twilio emulator, not Twilio",
			"emulator", cfg.EmulatorURL, "hint", "set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN to use Twilio")
		fmt.Fprintf(stdout, "Twilio emulator on %s (console: %s/, control API: %s/emulator/state)\n", cfg.EmulatorURL, cfg.EmulatorURL, cfg.EmulatorURL)
		fmt.Fprintf(stdout, "export TWILIO_ACCOUNT_SID=%s TWILIO_AUTH_TOKEN=%s EMULATOR=%s\n", sid, token, cfg.EmulatorURL)
	}
	if cfg.EmulatorURL != "" {
		// The emulator's web console calls this service from the emulator's origin.
		cfg.CORSAllowedOrigins = append(cfg.CORSAllowedOrigins, console.Origins(cfg.EmulatorURL)...)
	}
	log.Info("starting flexhooks", "embeddedEmulator", embedded, "config", cfg)

	a, err := app.New(cfg, log, nil, appOpts...)
	if err != nil {
		return err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	fmt.Fprintf(stdout, "flexhooks listening on http://%s (Twilio reaches it at %s)\n", ln.Addr(), cfg.PublicBaseURL)
	return a.Server.Serve(ctx, ln)
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
			return cfg, fmt.Errorf("invalid configuration (%d problems)", len(cerr.Problems))
		}
		return cfg, err
	}
	return cfg, nil
}
