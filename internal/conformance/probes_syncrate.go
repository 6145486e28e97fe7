package conformance

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	syncv1 "github.com/twilio/twilio-go/rest/sync/v1"
)

// Bounds of the rate-limit probe: enough writers to pass 20 writes/s
// against a distant Twilio (20 in flight at 500 ms each is 40/s), and a cap
// on what it spends if no limit shows.
const (
	rateWriters   = 20
	rateMaxWrites = 1000
	rateMaxTime   = 60 * time.Second
)

var probeSyncRateLimit = Probe{
	Name: "sync-rate-limit",
	Behaviour: "each Sync Map takes at most 20 writes/s with a 10-second burst window, item writes counting toward their Map; " +
		"past it 429 (https://www.twilio.com/docs/sync/limits, https://www.twilio.com/docs/api/errors/54009)",
	Expected: fmt.Sprintf("HTTP 429, error 54009 within %d writes to one map item, as fast as %d writers go", rateMaxWrites, rateWriters),
	Run: func(ctx context.Context, c *Client) (string, bool, error) {
		svc, m, err := c.SyncMap(ctx, "rate")
		if err != nil {
			return "", false, err
		}
		if _, err := c.API(ctx).Sync.CreateSyncMapItem(svc, m, (&syncv1.CreateSyncMapItemParams{}).SetKey("k").SetData(map[string]any{"n": 0})); err != nil {
			observed, err := answer(err)
			return "create: " + observed, false, err
		}
		ctx, cancel := context.WithTimeout(ctx, rateMaxTime)
		defer cancel()
		start := time.Now()
		ok, first, err := writeUntilRefused(ctx, c, svc, m)
		took := time.Since(start)
		if err != nil {
			return "", false, err
		}
		rate := float64(ok) / took.Seconds()
		if first == "" {
			if rate <= 20 {
				return "", false, fmt.Errorf("inconclusive: %d writes in %s is %.0f/s, not above the limit", ok, took.Round(time.Millisecond), rate)
			}
			return fmt.Sprintf("no refusal: %d writes in %s (%.0f/s)", ok, took.Round(time.Millisecond), rate), false, nil
		}
		return fmt.Sprintf("%s after %d writes in %s (%.0f/s)", first, ok, took.Round(time.Millisecond), rate),
			first == "HTTP 429, error 54009", nil
	},
}

// writeUntilRefused updates one item from rateWriters goroutines until
// Twilio refuses one, rateMaxWrites are made, or ctx ends. It returns the
// writes that succeeded and the first refusal ("" if none).
func writeUntilRefused(ctx context.Context, c *Client, svc, m string) (ok int64, first string, err error) {
	var (
		done    atomic.Bool
		tried   atomic.Int64
		succeed atomic.Int64
		once    sync.Once
		fail    error
		wg      sync.WaitGroup
	)
	stop := func(refusal string, err error) {
		once.Do(func() { first, fail = refusal, err })
		done.Store(true)
	}
	for range rateWriters {
		wg.Go(func() {
			for !done.Load() && ctx.Err() == nil {
				n := tried.Add(1)
				if n > rateMaxWrites {
					return
				}
				_, err := c.API(ctx).Sync.UpdateSyncMapItem(svc, m, "k", (&syncv1.UpdateSyncMapItemParams{}).SetData(map[string]any{"n": n}))
				if err == nil {
					succeed.Add(1)
					continue
				}
				if ctx.Err() != nil {
					return // the probe's time is up: not an answer
				}
				observed, err := answer(err)
				stop(observed, err)
			}
		})
	}
	wg.Wait()
	if fail != nil {
		return 0, "", fail
	}
	if first == "" && errors.Is(ctx.Err(), context.Canceled) {
		return 0, "", ctx.Err()
	}
	return succeed.Load(), first, nil
}
