package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/flexhooks/flexhooks/internal/app"
	"github.com/flexhooks/flexhooks/internal/config"
	"github.com/flexhooks/flexhooks/internal/conformance"
)

// conformanceIssueURL is where a user sends the table from a real account.
const conformanceIssueURL = "https://github.com/flexhooks/flexhooks/issues/new?title=conformance+table"

// runConformance probes the Twilio behaviours flexhooks relies on against
// the Twilio the environment names: a Twilio account (TWILIO_ACCOUNT_SID…),
// a running emulator (EMULATOR_URL), or, with no credentials, an emulator
// started for the run. It prints a Markdown table and fails when a probe
// disagrees or cannot run.
func runConformance(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("conformance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	only := fs.String("probe", "", "run only these probes (comma-separated names; default: all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	probes, err := selectProbes(*only)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(stderr)
	if err != nil {
		return err
	}
	cfg, target, live, stop, err := conformanceTarget(ctx, cfg)
	if err != nil {
		return err
	}
	defer stop()
	// A probe must see Twilio's first answer: a retried 429 would hide
	// the very limit it probes.
	cfg.TwilioMaxAttempts = 1
	tw, err := app.NewTwilio(cfg, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "probing %s; every resource made is named %s… and removed at the end\n", target, conformance.Prefix)
	results, cleanupErr := conformance.Run(ctx, conformance.NewClient(tw, cfg.WorkspaceSID, stderr), probes)
	conformance.WriteTable(stdout, target, results)
	if live {
		fmt.Fprintf(stdout, "\nflexhooks has been checked against its emulator only: please open an issue with this table, agreeing or not: %s\n", conformanceIssueURL)
	}
	var errs []error
	if n := conformance.Disagreements(results); n > 0 {
		errs = append(errs, fmt.Errorf("%d of %d probes disagree with the emulator's model of Twilio, or could not run", n, len(results)))
	}
	if cleanupErr != nil {
		errs = append(errs, cleanupErr)
	}
	return errors.Join(errs...)
}

// conformanceTarget resolves what the probes run against. With no account
// configured it starts an emulator for the run (stop ends it). live is
// true for a Twilio account.
func conformanceTarget(ctx context.Context, cfg config.Config) (_ config.Config, target string, live bool, stop func(), err error) {
	stop = func() {}
	switch {
	case cfg.Embedded():
		quiet := slog.New(slog.DiscardHandler)
		emu, ln, err := startEmulator(ctx, "127.0.0.1:0", false, quiet)
		if err != nil {
			return cfg, "", false, stop, err
		}
		ctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); _ = emu.ListenAndServe(ctx, ln) }()
		stop = func() { cancel(); <-done; emu.Close() }
		cfg.AccountSID, cfg.AuthToken = emu.Credentials()
		cfg.APIKey, cfg.APISecret = "", ""
		cfg.EmulatorURL = "http://" + ln.Addr().String()
		cfg.WorkspaceSID = emu.SeededSIDs().WorkspaceSID
		return cfg, "the embedded Twilio emulator (no TWILIO_ACCOUNT_SID set)", false, stop, nil
	case cfg.EmulatorURL != "":
		cfg, err = app.FromEmulator(ctx, cfg)
		return cfg, "the Twilio emulator at " + cfg.EmulatorURL, false, stop, err
	default:
		return cfg, "Twilio account " + cfg.AccountSID, true, stop, nil
	}
}

// selectProbes returns the probes named in a comma-separated list, or all.
func selectProbes(only string) ([]conformance.Probe, error) {
	all := conformance.Probes()
	if only == "" {
		return all, nil
	}
	var names []string
	for _, p := range all {
		names = append(names, p.Name)
	}
	var out []conformance.Probe
	for _, name := range strings.Split(only, ",") {
		i := slices.Index(names, strings.TrimSpace(name))
		if i < 0 {
			return nil, fmt.Errorf("--probe: no probe %q (probes: %s)", name, strings.Join(names, ", "))
		}
		out = append(out, all[i])
	}
	return out, nil
}
