package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	syncv1 "github.com/twilio/twilio-go/rest/sync/v1"

	"github.com/flexhooks/flexhooks"
	"github.com/flexhooks/flexhooks/webhooks"
)

// CodeSyncUniqueNameExists is Sync's "unique name already exists": another
// request created the map first, which is as good as creating it.
const CodeSyncUniqueNameExists = 54301

// CreateSyncMapItem creates an item, creating its map on first use. A key
// that exists is ECONFLICT with TwilioCode 54208.
func (o *Operations) CreateSyncMapItem(ctx context.Context, mapName, key string, data any, ttl time.Duration) error {
	_, err := o.createItem(ctx, mapName, key, data, ttl)
	return err
}

// CreateSyncMapItemRevision creates an item (and its map) like
// CreateSyncMapItem, with no TTL, and returns its revision: what a later
// If-Match names.
func (o *Operations) CreateSyncMapItemRevision(ctx context.Context, mapName, key string, data any) (string, error) {
	return o.createItem(ctx, mapName, key, data, 0)
}

func (o *Operations) createItem(ctx context.Context, mapName, key string, data any, ttl time.Duration) (string, error) {
	create := func() (string, error) {
		p := (&syncv1.CreateSyncMapItemParams{}).SetKey(key).SetData(data)
		if ttl > 0 {
			p.SetItemTtl(ttlSeconds(ttl))
		}
		it, err := o.c.API(ctx).Sync.CreateSyncMapItem(o.syncService, mapName, p)
		if err != nil {
			return "", MapError(err)
		}
		return ptrValue(it.Revision), nil
	}
	rev, err := create()
	if !mappedNotFound(err) {
		return rev, err
	}
	// The map does not exist yet (the item create names it by unique name).
	if err := o.createMap(ctx, mapName); err != nil {
		return "", err
	}
	return create()
}

// PutSyncMapItem creates an item (and its map), or replaces its data and
// ttl when it exists. Create comes first: a park writes a new key, so the
// common case costs one call.
func (o *Operations) PutSyncMapItem(ctx context.Context, mapName, key string, data any, ttl time.Duration) error {
	err := o.CreateSyncMapItem(ctx, mapName, key, data, ttl)
	if !mappedConflict(err) {
		return err
	}
	p := (&syncv1.UpdateSyncMapItemParams{}).SetData(data).SetItemTtl(ttlSeconds(ttl))
	_, err = o.c.API(ctx).Sync.UpdateSyncMapItem(o.syncService, mapName, key, p)
	return MapError(err)
}

// UpdateSyncMapItem replaces an item's data if its revision is still
// revision (If-Match): ECONFLICT (412, 54205) when it changed meanwhile.
// The item keeps its TTL. It returns the item's new revision.
func (o *Operations) UpdateSyncMapItem(ctx context.Context, mapName, key string, data any, revision string) (string, error) {
	p := (&syncv1.UpdateSyncMapItemParams{}).SetData(data).SetIfMatch(revision)
	it, err := o.c.API(ctx).Sync.UpdateSyncMapItem(o.syncService, mapName, key, p)
	if err != nil {
		return "", MapError(err)
	}
	return ptrValue(it.Revision), nil
}

// ListSyncMapItemsAfter returns up to limit items whose keys sort after
// from (exclusive), in ascending key order; from "" starts at the first.
// None when the map is missing. One request: limit is capped at 100, Sync's
// largest page.
func (o *Operations) ListSyncMapItemsAfter(ctx context.Context, mapName, from string, limit int) ([]webhooks.SyncItem, error) {
	limit = min(max(limit, 1), 100)
	p := (&syncv1.ListSyncMapItemParams{}).SetOrder("asc").SetPageSize(limit).SetLimit(limit)
	if from != "" {
		p.SetFrom(from).SetBounds("exclusive")
	}
	return o.listItems(ctx, mapName, p)
}

// FetchSyncMapItem returns an item; ENOTFOUND when it or its map is missing.
func (o *Operations) FetchSyncMapItem(ctx context.Context, mapName, key string) (webhooks.SyncItem, error) {
	it, err := o.c.API(ctx).Sync.FetchSyncMapItem(o.syncService, mapName, key)
	if err != nil {
		return webhooks.SyncItem{}, MapError(err)
	}
	return syncItem(*it)
}

// DeleteSyncMapItem deletes an item; ENOTFOUND when it or its map is missing.
func (o *Operations) DeleteSyncMapItem(ctx context.Context, mapName, key string) error {
	return MapError(o.c.API(ctx).Sync.DeleteSyncMapItem(o.syncService, mapName, key, nil))
}

// ListSyncMapItems returns up to limit items; none when the map is missing.
func (o *Operations) ListSyncMapItems(ctx context.Context, mapName string, limit int) ([]webhooks.SyncItem, error) {
	return o.listItems(ctx, mapName, (&syncv1.ListSyncMapItemParams{}).SetPageSize(min(limit, 100)).SetLimit(limit))
}

func (o *Operations) listItems(ctx context.Context, mapName string, p *syncv1.ListSyncMapItemParams) ([]webhooks.SyncItem, error) {
	items, err := o.c.API(ctx).Sync.ListSyncMapItem(o.syncService, mapName, p)
	if err != nil {
		err = MapError(err)
		if mappedNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	out := make([]webhooks.SyncItem, 0, len(items))
	for _, it := range items {
		si, err := syncItem(it)
		if err != nil {
			return nil, err
		}
		out = append(out, si)
	}
	return out, nil
}

func (o *Operations) createMap(ctx context.Context, name string) error {
	_, err := o.c.API(ctx).Sync.CreateSyncMap(o.syncService, (&syncv1.CreateSyncMapParams{}).SetUniqueName(name))
	err = MapError(err)
	var fe *flexhooks.Error
	if errors.As(err, &fe) && (fe.TwilioCode == CodeSyncUniqueNameExists || fe.Code == flexhooks.ECONFLICT) {
		return nil // created concurrently
	}
	return err
}

func syncItem(it syncv1.SyncV1SyncMapItem) (webhooks.SyncItem, error) {
	out := webhooks.SyncItem{Key: ptrValue(it.Key), Revision: ptrValue(it.Revision), DateCreated: ptrValue(it.DateCreated), DateExpires: ptrValue(it.DateExpires)}
	if it.Data != nil {
		b, err := json.Marshal(*it.Data)
		if err != nil {
			return webhooks.SyncItem{}, &flexhooks.Error{Code: flexhooks.EUPSTREAM, Message: "unexpected Sync item data", Err: err}
		}
		out.Data = b
	}
	return out, nil
}

// ttlSeconds rounds a TTL up to whole seconds; 0 means no expiry.
func ttlSeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + time.Second - 1) / time.Second)
}

func mappedNotFound(err error) bool { return flexhooks.ErrorCode(err) == flexhooks.ENOTFOUND }
func mappedConflict(err error) bool { return flexhooks.ErrorCode(err) == flexhooks.ECONFLICT }

// ListSyncMapNames returns the unique names of the service's maps that
// start with prefix, reading every page (Sync's largest, 100 maps each).
// Sync has no server-side filter on names, so this costs one read per 100
// maps of the service: the sweeper's scan of the parked lists, one map per
// agent who ever parked.
func (o *Operations) ListSyncMapNames(ctx context.Context, prefix string) ([]string, error) {
	maps, err := o.c.API(ctx).Sync.ListSyncMap(o.syncService, (&syncv1.ListSyncMapParams{}).SetPageSize(100))
	if err != nil {
		return nil, MapError(err)
	}
	var names []string
	for _, m := range maps {
		if n := ptrValue(m.UniqueName); strings.HasPrefix(n, prefix) {
			names = append(names, n)
		}
	}
	return names, nil
}
