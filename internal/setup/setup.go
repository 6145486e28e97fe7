// Package setup provisions what flexhooks needs in a Twilio account: the
// Chat Transfer workflow, the workspace event callback and the Conversations
// webhook. It is a list of steps, each of which first plans (reads Twilio
// and says what must change) and then, unless it is a dry run, applies. Every
// step is idempotent: run on an account that is already set up, it plans no
// change. A capability that needs something provisioned adds its step in its
// own file and one line to Steps.
package setup

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/flexhooks/flexhooks/internal/twilio"
)

// Config is what the steps provision against.
type Config struct {
	WorkspaceSID   string
	ChatServiceSID string
	// PublicBaseURL is where Twilio reaches the service.
	PublicBaseURL string
}

// Plan is a step's verdict on the account as it is.
type Plan struct {
	// Changes says what Apply would change, one line each; none means the
	// account is already as the step wants it.
	Changes []string
	// Apply makes the changes and returns what to tell the operator; nil
	// when there is nothing to change.
	Apply func(ctx context.Context, api *twilio.API) (string, error)
	// Note is told either way (the SID to configure, a warning).
	Note string
}

// Step is one thing setup provisions.
type Step interface {
	Name() string
	Plan(ctx context.Context, api *twilio.API) (Plan, error)
}

// Steps is everything flexhooks provisions, in order.
func Steps(cfg Config) []Step {
	var steps []Step
	steps = append(steps, transferWorkflowStep{cfg})
	steps = append(steps, workspaceEventsStep{cfg})
	steps = append(steps, conversationsWebhookStep{cfg})
	return steps
}

// Result is what one step did.
type Result struct {
	Step    string
	Changes []string // planned (and, unless a dry run, applied)
	Applied bool
	Message string
}

// Run plans every step and applies the ones with changes, unless dryRun,
// telling out what it does. It stops at the first failure: later steps may
// rely on earlier ones.
func Run(ctx context.Context, tw *twilio.Client, steps []Step, dryRun bool, out io.Writer) ([]Result, error) {
	api := tw.API(ctx)
	var results []Result
	for _, s := range steps {
		p, err := s.Plan(ctx, api)
		if err != nil {
			return results, fmt.Errorf("%s: %w", s.Name(), err)
		}
		r := Result{Step: s.Name(), Changes: p.Changes}
		switch {
		case len(p.Changes) == 0 || p.Apply == nil:
			fmt.Fprintf(out, "%s: up to date\n", s.Name())
		case dryRun:
			fmt.Fprintf(out, "%s: would change:\n  - %s\n", s.Name(), strings.Join(p.Changes, "\n  - "))
		default:
			msg, err := p.Apply(ctx, api)
			if err != nil {
				return results, fmt.Errorf("%s: %w", s.Name(), err)
			}
			r.Applied, r.Message = true, msg
			fmt.Fprintf(out, "%s: changed:\n  - %s\n", s.Name(), strings.Join(p.Changes, "\n  - "))
			if msg != "" {
				fmt.Fprintf(out, "  %s\n", msg)
			}
		}
		if p.Note != "" {
			fmt.Fprintf(out, "  %s\n", p.Note)
		}
		results = append(results, r)
	}
	return results, nil
}

// mergeList returns have plus the items of want it lacks, in order, and
// the ones it added.
func mergeList(have, want []string) (merged, added []string) {
	seen := map[string]bool{}
	for _, h := range have {
		h = strings.TrimSpace(h)
		if h == "" || seen[h] {
			continue
		}
		seen[h] = true
		merged = append(merged, h)
	}
	for _, w := range want {
		if !seen[w] {
			seen[w] = true
			merged = append(merged, w)
			added = append(added, w)
		}
	}
	return merged, added
}
