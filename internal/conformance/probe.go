// Package conformance probes, through the public API, the Twilio behaviours
// flexhooks relies on (docs/twilio-behaviour.md), against whatever Twilio a
// client points at: the emulator in the tests, a real account with
// `flexhooks conformance`. The same probes run in both, so a disagreement
// on real Twilio is a fault in the emulator's model of Twilio.
//
// A probe creates only resources of its own, named with the run's prefix
// (flexhooks-conformance-…), through Client, which removes them all when
// the run ends, whether the probes passed, failed or panicked.
package conformance

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Probe is one behaviour checked against the Twilio a Client points at.
type Probe struct {
	// Name is the probe's stable identifier, as docs/twilio-behaviour.md
	// cites it.
	Name string
	// Behaviour is what Twilio is believed to do, with where that belief
	// comes from.
	Behaviour string
	// Expected is the answer the probe agrees with, in the words Observed
	// uses.
	Expected string
	// Run probes the behaviour: what it saw, whether that agrees with
	// Expected, and an error when it could not probe at all (the setup
	// failed, Twilio was unreachable). An error wrapping ErrSkipped means
	// the probe does not apply to this target.
	Run func(ctx context.Context, c *Client) (observed string, agree bool, err error)
}

// ErrSkipped marks a probe that does not apply to the target (say, no
// TaskRouter workspace configured).
var ErrSkipped = errors.New("skipped")

func skip(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrSkipped, fmt.Sprintf(format, args...))
}

// Result is one probe's outcome.
type Result struct {
	Probe    Probe
	Observed string
	Agree    bool
	Err      error // the probe could not run; ErrSkipped when it did not apply
	Took     time.Duration
}

// Skipped reports whether the probe did not apply.
func (r Result) Skipped() bool { return errors.Is(r.Err, ErrSkipped) }

// Failed reports whether the result is a disagreement or a probe that could
// not run: either makes `flexhooks conformance` exit non-zero.
func (r Result) Failed() bool { return !r.Skipped() && (r.Err != nil || !r.Agree) }

// Run runs each probe in turn, then removes every resource the probes
// made, even when ctx is canceled or a probe panics. The error is the
// cleanup's: resources it could not remove, each named.
func Run(ctx context.Context, c *Client, probes []Probe) (results []Result, err error) {
	defer func() { err = c.cleanup(ctx) }()
	for _, p := range probes {
		results = append(results, runOne(ctx, c, p))
	}
	return results, nil
}

// runOne runs one probe, turning a panic into its error so that the others
// run and the cleanup happens.
func runOne(ctx context.Context, c *Client, p Probe) (r Result) {
	r.Probe = p
	start := time.Now()
	defer func() {
		r.Took = time.Since(start)
		if v := recover(); v != nil {
			r.Observed, r.Agree, r.Err = "", false, fmt.Errorf("probe panicked: %v", v)
		}
	}()
	if err := ctx.Err(); err != nil {
		r.Err = err
		return r
	}
	r.Observed, r.Agree, r.Err = p.Run(ctx, c)
	return r
}

// Probes is every probe, in the order they run: the quick ones first, the
// Sync rate limit (which takes seconds against Twilio) last.
func Probes() []Probe {
	return []Probe{
		probeConversationsServices,
		probePageSizeTooLarge,
		probeScopedWebhookPage,
		probeScopedWebhookLimit,
		probeClosedConversation,
		probeSyncItemExists,
		probeSyncIfMatch,
		probeSyncPageSize,
		probeNullLiteral,
		probeSyncRateLimit,
	}
}

// Unprobed is a behaviour flexhooks relies on that no probe checks, and why.
type Unprobed struct {
	Behaviour, Why string
}

// NotProbed lists the rows of docs/twilio-behaviour.md that the public API
// cannot show from here, so that the table says what it did not check.
func NotProbed() []Unprobed {
	return []Unprobed{
		{"Conversations webhooks: 5 s timeout, no retry after a 5xx, one retry on a failed connection",
			"needs a public URL for Twilio to call and a server that answers late or fails; the probe has neither"},
		{"TaskRouter event callbacks: 15 s, no retry; EventCallbackUrl connection overrides and error 11243",
			"needs a public URL, and changing the workspace's callback would touch the account's own configuration"},
		{"Sync reads limit (20 reads/s per object)",
			"the writes probe shows the limit's answer; a second burst of reads adds cost, not information"},
		{"Flex: a declined worker-SID invite cancels its task; interaction channels deleted after 180 days",
			"need a Flex interaction, an agent to decline and (for the channel) 180 days"},
		{"TaskRouter: ended tasks deleted after 5 minutes; queueless workflow targets; known-worker routing",
			"need tasks routed in the Flex workspace, which would reach real agents"},
		{"Undocumented behaviours (closed participants listed, Inactive timer restart, event fields)",
			"each is a switch in the emulator and flexhooks is tested under every setting; probing needs Flex interactions or webhooks"},
	}
}
