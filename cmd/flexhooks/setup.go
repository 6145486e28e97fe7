package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/flexhooks/flexhooks/internal/app"
	"github.com/flexhooks/flexhooks/internal/setup"
)

// runSetup provisions the Twilio account (or the emulator at EMULATOR_URL)
// for flexhooks: the Chat Transfer workflow, the workspace event callback
// and the Conversations webhook. It is idempotent; --dry-run only prints.
func runSetup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("setup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dryRun := fs.Bool("dry-run", false, "print what would change and change nothing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(stderr)
	if err != nil {
		return err
	}
	if cfg.Embedded() {
		return errors.New("setup needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (with EMULATOR_URL to set up a running emulator: paste the export line `make run` prints)")
	}
	if cfg.EmulatorURL != "" {
		// An emulator names its workspace and chat service itself.
		if cfg, err = app.FromEmulator(ctx, cfg); err != nil {
			return err
		}
	}
	if cfg.WorkspaceSID == "" {
		return errors.New("setup needs TWILIO_FLEX_WORKSPACE_SID")
	}
	tw, err := app.NewTwilio(cfg, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), nil)
	if err != nil {
		return err
	}
	if *dryRun {
		fmt.Fprintln(stdout, "dry run: nothing will be changed")
	}
	_, err = setup.Run(ctx, tw, setup.Steps(setup.Config{
		WorkspaceSID: cfg.WorkspaceSID, ChatServiceSID: cfg.ChatServiceSID, PublicBaseURL: cfg.PublicBaseURL,
	}), *dryRun, stdout)
	return err
}
