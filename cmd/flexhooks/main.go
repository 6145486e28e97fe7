// Command flexhooks runs the flexhooks service and the Twilio emulator.
//
//	flexhooks serve      the HTTP service (on the embedded emulator when no Twilio credentials are set)
//	flexhooks emulator   the Twilio emulator alone
//	flexhooks setup      provision the Twilio account (transfer workflow, event callback, webhook)
//	flexhooks sweep      find and repair what failed operations left behind, once (for a CronJob)
//	flexhooks conformance  probe the Twilio behaviours flexhooks relies on; print a table
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "flexhooks:", err)
		os.Exit(1)
	}
}

const usage = `usage: flexhooks <command> [flags]

commands:
  serve      run the HTTP service (embedded Twilio emulator when TWILIO_ACCOUNT_SID is empty)
  emulator   run the Twilio emulator alone (EMULATOR_ADDR, default 127.0.0.1:4010)
  setup      provision the Twilio account for flexhooks; idempotent (--dry-run prints what it would change)
  sweep      repair what failed operations left behind, fire scheduled unparks, expire old parks; once
             (serve does it every SWEEP_INTERVAL; --dry-run lists, --json prints the report as JSON)
  conformance
             probe the Twilio behaviours flexhooks relies on (embedded emulator when TWILIO_ACCOUNT_SID is empty);
             makes and removes only resources named flexhooks-conformance-…; exits non-zero on a disagreement

Configuration comes from the environment: see .env.example.`

// run is main without the process: arguments, output and cancellation come in,
// an error goes out, so that it can be tested.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return fmt.Errorf("no command given")
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr)
	case "emulator":
		return runEmulator(ctx, args[1:], stdout, stderr)
	case "setup":
		return runSetup(ctx, args[1:], stdout, stderr)
	case "sweep":
		return runSweep(ctx, args[1:], stdout, stderr)
	case "conformance":
		return runConformance(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	default:
		fmt.Fprintln(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}
