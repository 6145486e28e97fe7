package conformance

import (
	"context"
	"fmt"
	"sync"

	syncv1 "github.com/twilio/twilio-go/rest/sync/v1"
)

// The Sync probes work in the run's own Sync service, each in a map of its
// own: the rate limit is per map, so one probe's writes never throttle
// another's.

var probeSyncItemExists = Probe{
	Name: "sync-item-create-conflict",
	Behaviour: "creating a Sync map item whose key exists is refused (https://www.twilio.com/docs/api/errors/54208): " +
		"flexhooks' claims rely on exactly one of concurrent creates winning",
	Expected: "1 of 5 concurrent creates succeeds; the other 4: HTTP 409, error 54208",
	Run: func(ctx context.Context, c *Client) (string, bool, error) {
		svc, m, err := c.SyncMap(ctx, "claims")
		if err != nil {
			return "", false, err
		}
		const racers = 5
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				_, errs[i] = c.API(ctx).Sync.CreateSyncMapItem(svc, m, (&syncv1.CreateSyncMapItemParams{}).
					SetKey("claim").SetData(map[string]any{"racer": i}))
			})
		}
		wg.Wait()
		won, answers := 0, map[string]int{}
		for _, err := range errs {
			if err == nil {
				won++
				continue
			}
			observed, err := answer(err)
			if err != nil {
				return "", false, err
			}
			answers[observed]++
		}
		observed := fmt.Sprintf("%d of %d succeeded", won, racers)
		for a, n := range answers {
			observed += fmt.Sprintf("; %d: %s", n, a)
		}
		return observed, won == 1 && answers["HTTP 409, error 54208"] == racers-1, nil
	},
}

var probeSyncIfMatch = Probe{
	Name:      "sync-item-if-match",
	Behaviour: "a Sync map item update with a stale If-Match revision is refused (https://www.twilio.com/docs/api/errors/54205)",
	Expected:  "update at the current revision succeeds; at the old one: HTTP 412, error 54205",
	Run: func(ctx context.Context, c *Client) (string, bool, error) {
		svc, m, err := c.SyncMap(ctx, "revisions")
		if err != nil {
			return "", false, err
		}
		api := c.API(ctx).Sync
		item, err := api.CreateSyncMapItem(svc, m, (&syncv1.CreateSyncMapItemParams{}).SetKey("k").SetData(map[string]any{"v": 1}))
		if err != nil {
			observed, err := answer(err)
			return "create: " + observed, false, err
		}
		old := *item.Revision
		_, err = api.UpdateSyncMapItem(svc, m, "k", (&syncv1.UpdateSyncMapItemParams{}).SetIfMatch(old).SetData(map[string]any{"v": 2}))
		if err != nil {
			observed, err := answer(err)
			return "update at the current revision: " + observed, false, err
		}
		_, err = api.UpdateSyncMapItem(svc, m, "k", (&syncv1.UpdateSyncMapItemParams{}).SetIfMatch(old).SetData(map[string]any{"v": 3}))
		observed, agree, err := refusedWith(err, 412, 54205)
		return "current: success; old: " + observed, agree, err
	},
}

var probeSyncPageSize = Probe{
	Name:      "sync-page-size",
	Behaviour: "Sync lists: PageSize maximum 100 (twilio_sync_v1.json); above it refused (https://www.twilio.com/docs/api/errors/54454)",
	Expected:  "PageSize 100: success; 101: HTTP 400, error 54454",
	Run: func(ctx context.Context, c *Client) (string, bool, error) {
		svc, err := c.SyncService(ctx)
		if err != nil {
			return "", false, err
		}
		api := c.API(ctx).Sync
		if _, err := api.PageSyncMap(svc, (&syncv1.ListSyncMapParams{}).SetPageSize(100), "", ""); err != nil {
			observed, err := answer(err)
			return "100: " + observed, false, err
		}
		_, err = api.PageSyncMap(svc, (&syncv1.ListSyncMapParams{}).SetPageSize(101), "", "")
		observed, agree, err := refusedWith(err, 400, 54454)
		return "100: success; 101: " + observed, agree, err
	},
}
