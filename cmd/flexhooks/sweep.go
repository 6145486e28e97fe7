package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"

	"github.com/flexhooks/flexhooks/internal/app"
	"github.com/flexhooks/flexhooks/webhooks"
)

// runSweep is `flexhooks sweep`: one sweep, for a Kubernetes CronJob
// (deploy/kubernetes.yaml) or an operator at a terminal. It prints what it
// found and did, and fails when a repair failed, so that the job's status
// shows it.
func runSweep(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sweep", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dryRun := fs.Bool("dry-run", false, "list what would be repaired; change nothing")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(stderr)
	if err != nil {
		return err
	}
	var opts []app.Option
	switch {
	case cfg.Embedded():
		return fmt.Errorf("sweep needs a Twilio account (TWILIO_ACCOUNT_SID) or a running emulator (EMULATOR_URL); `make run`'s embedded emulator lives inside serve, which sweeps by itself")
	case cfg.EmulatorURL != "":
		if cfg, err = app.FromEmulator(ctx, cfg); err != nil {
			return err
		}
		now, err := app.EmulatorClock(ctx, cfg.EmulatorURL)
		if err != nil {
			return err
		}
		opts = append(opts, app.WithClock(now))
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	a, err := app.New(cfg, log, nil, opts...)
	if err != nil {
		return err
	}
	rep := a.Sweeper.Sweep(ctx, *dryRun)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printSweep(stdout, rep)
	}
	return sweepFailure(rep)
}

func printSweep(w io.Writer, rep webhooks.SweepReport) {
	verb := "repairs"
	if rep.DryRun {
		verb = "repairs planned (dry run: nothing changed)"
	}
	fmt.Fprintf(w, "sweep at %s: %d %s\n", rep.Started.Format("2006-01-02T15:04:05Z07:00"), len(rep.Repairs), verb)
	if len(rep.Repairs) > 0 {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KIND\tKEY\tOUTCOME\tDETAIL")
		for _, r := range rep.Repairs {
			detail := r.Detail
			if r.Error != "" {
				detail += " (" + r.Error + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Kind, r.Key, r.Outcome, detail)
		}
		_ = tw.Flush()
	}
	for step, e := range rep.StepErrors {
		fmt.Fprintf(w, "step %s could not finish: %s\n", step, e)
	}
}

// sweepFailure is an error when a repair failed or a step could not scan.
func sweepFailure(rep webhooks.SweepReport) error {
	failed := 0
	for _, r := range rep.Repairs {
		if r.Outcome == webhooks.OutcomeFailed {
			failed++
		}
	}
	if failed > 0 || len(rep.StepErrors) > 0 {
		return fmt.Errorf("sweep: %d repairs failed, %d steps could not finish; the next sweep tries again", failed, len(rep.StepErrors))
	}
	return nil
}
