package syncapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twilio/twilio-go"
	twclient "github.com/twilio/twilio-go/client"
	syncv1 "github.com/twilio/twilio-go/rest/sync/v1"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
	"github.com/flexhooks/flexhooks/internal/emulator/emutest"
)

var start = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

type fixture struct {
	env   *core.Env
	store *Store
	c     *twilio.RestClient
	url   string
}

func setup(t *testing.T) *fixture {
	t.Helper()
	env := emutest.NewEnv(start)
	s := New(env)
	srv := emutest.Serve(t, core.Locked(env, s.Routes()))
	return &fixture{env: env, store: s, c: emutest.Client(t, srv.URL), url: srv.URL}
}

// advance moves the virtual clock by d, firing due TTL timers.
func (f *fixture) advance(d time.Duration) {
	emutest.Advance(f.env, d)
}

func (f *fixture) createMap(t *testing.T, name string) *syncv1.SyncV1SyncMap {
	t.Helper()
	p := &syncv1.CreateSyncMapParams{}
	if name != "" {
		p.SetUniqueName(name)
	}
	m, err := f.c.SyncV1.CreateSyncMap("default", p)
	require.NoError(t, err)
	return m
}

func (f *fixture) createItem(t *testing.T, mapID, key string, data any) *syncv1.SyncV1SyncMapItem {
	t.Helper()
	it, err := f.c.SyncV1.CreateSyncMapItem("default", mapID, (&syncv1.CreateSyncMapItemParams{}).SetKey(key).SetData(data))
	require.NoError(t, err)
	return it
}

// twilioErr asserts err is Twilio's error with that status and code.
func twilioErr(t *testing.T, err error, status, code int) {
	t.Helper()
	var te *twclient.TwilioRestError
	require.ErrorAs(t, err, &te, "want %d/%d", status, code)
	assert.Equal(t, status, te.Status, te.Message)
	assert.Equal(t, code, te.Code, te.Message)
}

func TestServices(t *testing.T) {
	f := setup(t)
	sid := core.SeedSID("IS", "default")
	assert.Equal(t, sid, f.store.DefaultServiceSID())

	list, err := f.c.SyncV1.ListService(nil)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, sid, *list[0].Sid)
	assert.Equal(t, "default", *list[0].UniqueName)

	for _, id := range []string{"default", sid} {
		svc, err := f.c.SyncV1.FetchService(id)
		require.NoError(t, err, id)
		assert.Equal(t, sid, *svc.Sid)
		assert.Equal(t, emutest.AccountSID, *svc.AccountSid)
		assert.Equal(t, "https://sync.twilio.com/v1/Services/"+sid, *svc.Url)
	}
	_, err = f.c.SyncV1.FetchService("IS00000000000000000000000000000000")
	twilioErr(t, err, 404, 20404)
	_, err = f.c.SyncV1.CreateSyncMap("nope", nil)
	twilioErr(t, err, 404, 20404)
}

func TestServiceLifecycle(t *testing.T) {
	f := setup(t)
	svc, err := f.c.SyncV1.CreateService((&syncv1.CreateServiceParams{}).SetFriendlyName("Parking").SetAclEnabled(true))
	require.NoError(t, err)
	assert.True(t, core.ValidSID("IS", *svc.Sid))
	assert.Nil(t, svc.UniqueName)
	assert.Equal(t, "Parking", *svc.FriendlyName)
	assert.True(t, *svc.AclEnabled)
	assert.Equal(t, 5000, svc.ReachabilityDebouncingWindow)

	up, err := f.c.SyncV1.UpdateService(*svc.Sid, (&syncv1.UpdateServiceParams{}).SetWebhookUrl("https://example.com/sync").SetReachabilityDebouncingWindow(2000))
	require.NoError(t, err)
	assert.Equal(t, "https://example.com/sync", *up.WebhookUrl)
	assert.Equal(t, 2000, up.ReachabilityDebouncingWindow)
	assert.Equal(t, "Parking", *up.FriendlyName, "absent parameters keep their value")

	_, err = f.c.SyncV1.UpdateService(*svc.Sid, (&syncv1.UpdateServiceParams{}).SetFriendlyName("changed").SetReachabilityDebouncingWindow(10))
	twilioErr(t, err, 400, 20001)
	got, err := f.c.SyncV1.FetchService(*svc.Sid)
	require.NoError(t, err)
	assert.Equal(t, "Parking", *got.FriendlyName, "a rejected update changes nothing")

	// Maps live in their service.
	m, err := f.c.SyncV1.CreateSyncMap(*svc.Sid, (&syncv1.CreateSyncMapParams{}).SetUniqueName("x").SetTtl(60))
	require.NoError(t, err)
	_, err = f.c.SyncV1.FetchSyncMap("default", "x")
	twilioErr(t, err, 404, 54200)

	list, err := f.c.SyncV1.ListService(nil)
	require.NoError(t, err)
	assert.Len(t, list, 2)

	require.NoError(t, f.c.SyncV1.DeleteService(*svc.Sid))
	_, err = f.c.SyncV1.FetchSyncMap(*svc.Sid, *m.Sid)
	twilioErr(t, err, 404, 20404)
	f.advance(time.Hour) // the deleted map's timer fires harmlessly
	list, err = f.c.SyncV1.ListService(nil)
	require.NoError(t, err)
	assert.Len(t, list, 1)
}

func TestMaps(t *testing.T) {
	f := setup(t)
	svcSid := core.SeedSID("IS", "default")

	m, err := f.c.SyncV1.CreateSyncMap("default", (&syncv1.CreateSyncMapParams{}).SetUniqueName("ParkedInteractions_WK1").SetTtl(3600))
	require.NoError(t, err)
	assert.True(t, core.ValidSID("MP", *m.Sid))
	assert.Equal(t, "ParkedInteractions_WK1", *m.UniqueName)
	assert.Equal(t, svcSid, *m.ServiceSid)
	assert.Equal(t, "0", *m.Revision)
	assert.Equal(t, "system", *m.CreatedBy)
	assert.Equal(t, start.Add(time.Hour), *m.DateExpires)
	assert.Equal(t, start, *m.DateCreated)
	assert.Equal(t, "https://sync.twilio.com/v1/Services/"+svcSid+"/Maps/"+*m.Sid, *m.Url)

	anon := f.createMap(t, "")
	assert.Nil(t, anon.UniqueName)
	assert.Nil(t, anon.DateExpires)

	// Fetch by SID and by unique name, through the alias and the service SID.
	for _, svc := range []string{"default", svcSid} {
		for _, id := range []string{*m.Sid, "ParkedInteractions_WK1"} {
			got, err := f.c.SyncV1.FetchSyncMap(svc, id)
			require.NoError(t, err)
			assert.Equal(t, *m.Sid, *got.Sid)
		}
	}

	tests := []struct {
		name         string
		params       *syncv1.CreateSyncMapParams
		status, code int
	}{
		{"unique name clash", (&syncv1.CreateSyncMapParams{}).SetUniqueName("ParkedInteractions_WK1"), 409, 54301},
		{"SID-like unique name", (&syncv1.CreateSyncMapParams{}).SetUniqueName("MP0123456789abcdef0123456789abcdef"), 400, 54302},
		{"empty unique name", (&syncv1.CreateSyncMapParams{}).SetUniqueName(""), 400, 54302},
		{"negative TTL", (&syncv1.CreateSyncMapParams{}).SetTtl(-1), 400, 20001},
		{"TTL over a year", (&syncv1.CreateSyncMapParams{}).SetCollectionTtl(maxTTL + 1), 400, 20001},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.c.SyncV1.CreateSyncMap("default", tt.params)
			twilioErr(t, err, tt.status, tt.code)
		})
	}

	// CollectionTtl wins over its alias Ttl; an update re-arms from now.
	f.advance(time.Minute)
	up, err := f.c.SyncV1.UpdateSyncMap("default", "ParkedInteractions_WK1", (&syncv1.UpdateSyncMapParams{}).SetTtl(5).SetCollectionTtl(60))
	require.NoError(t, err)
	assert.Equal(t, start.Add(2*time.Minute), *up.DateExpires)
	assert.Equal(t, "1", *up.Revision)
	assert.Equal(t, start.Add(time.Minute), *up.DateUpdated)

	up, err = f.c.SyncV1.UpdateSyncMap("default", *m.Sid, (&syncv1.UpdateSyncMapParams{}).SetTtl(0))
	require.NoError(t, err)
	assert.Nil(t, up.DateExpires, "TTL 0 removes the expiry")

	list, err := f.c.SyncV1.ListSyncMap("default", nil)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, *m.Sid, *list[0].Sid, "creation order")
	assert.Equal(t, *anon.Sid, *list[1].Sid)

	require.NoError(t, f.c.SyncV1.DeleteSyncMap("default", "ParkedInteractions_WK1"))
	_, err = f.c.SyncV1.FetchSyncMap("default", *m.Sid)
	twilioErr(t, err, 404, 54200)
	err = f.c.SyncV1.DeleteSyncMap("default", *m.Sid)
	twilioErr(t, err, 404, 54200)
	_, err = f.c.SyncV1.CreateSyncMapItem("default", "ParkedInteractions_WK1", (&syncv1.CreateSyncMapItemParams{}).SetKey("k").SetData(map[string]any{}))
	twilioErr(t, err, 404, 54200)

	// The unique name is free again.
	again := f.createMap(t, "ParkedInteractions_WK1")
	assert.NotEqual(t, *m.Sid, *again.Sid)
}

func TestItems(t *testing.T) {
	f := setup(t)
	m := f.createMap(t, "ParkedInteractions_WK1")
	data := map[string]any{"interactionSid": "KD1", "channelType": "sms", "n": 1}

	it := f.createItem(t, "ParkedInteractions_WK1", "CH1", data)
	assert.Equal(t, "CH1", *it.Key)
	assert.Equal(t, *m.Sid, *it.MapSid)
	assert.Equal(t, core.SeedSID("IS", "default"), *it.ServiceSid)
	assert.Equal(t, emutest.AccountSID, *it.AccountSid)
	assert.Equal(t, "0", *it.Revision)
	assert.Equal(t, "system", *it.CreatedBy)
	assert.Nil(t, it.DateExpires)
	assert.Equal(t, map[string]any{"interactionSid": "KD1", "channelType": "sms", "n": float64(1)}, *it.Data)
	assert.Equal(t, "https://sync.twilio.com/v1/Services/"+*m.ServiceSid+"/Maps/"+*m.Sid+"/Items/CH1", *it.Url)

	got, err := f.c.SyncV1.FetchSyncMapItem("default", *m.Sid, "CH1")
	require.NoError(t, err)
	assert.Equal(t, *it.Data, *got.Data)

	createErrs := []struct {
		name         string
		params       *syncv1.CreateSyncMapItemParams
		status, code int
	}{
		{"existing key", (&syncv1.CreateSyncMapItemParams{}).SetKey("CH1").SetData(data), 409, 54208},
		{"empty key", (&syncv1.CreateSyncMapItemParams{}).SetKey("").SetData(data), 400, 54209},
		{"key too long", (&syncv1.CreateSyncMapItemParams{}).SetKey(strings.Repeat("k", 257)).SetData(data), 400, 54209},
		{"no key", (&syncv1.CreateSyncMapItemParams{}).SetData(data), 400, 20001},
		{"no data", (&syncv1.CreateSyncMapItemParams{}).SetKey("x"), 400, 20001},
		{"data not an object", (&syncv1.CreateSyncMapItemParams{}).SetKey("x").SetData("just a string"), 400, 54008},
		{"data over 16 KiB", (&syncv1.CreateSyncMapItemParams{}).SetKey("x").SetData(map[string]string{"a": strings.Repeat("x", 16<<10)}), 413, 54006},
		{"negative item TTL", (&syncv1.CreateSyncMapItemParams{}).SetKey("x").SetData(data).SetItemTtl(-5), 400, 20001},
	}
	for _, tt := range createErrs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.c.SyncV1.CreateSyncMapItem("default", *m.Sid, tt.params)
			twilioErr(t, err, tt.status, tt.code)
		})
	}

	_, err = f.c.SyncV1.FetchSyncMapItem("default", *m.Sid, "CH404")
	twilioErr(t, err, 404, 54201)
	_, err = f.c.SyncV1.UpdateSyncMapItem("default", *m.Sid, "CH404", (&syncv1.UpdateSyncMapItemParams{}).SetData(data))
	twilioErr(t, err, 404, 54201)

	// Update: If-Match must equal the revision; Data is replaced, not merged.
	_, err = f.c.SyncV1.UpdateSyncMapItem("default", *m.Sid, "CH1", (&syncv1.UpdateSyncMapItemParams{}).SetIfMatch("7").SetData(map[string]any{"x": 1}))
	twilioErr(t, err, 412, 54205)
	_, err = f.c.SyncV1.UpdateSyncMapItem("default", *m.Sid, "CH1", (&syncv1.UpdateSyncMapItemParams{}).SetIfMatch("not-a-revision").SetData(map[string]any{"x": 1}))
	twilioErr(t, err, 400, 54003)
	f.advance(time.Second)
	up, err := f.c.SyncV1.UpdateSyncMapItem("default", *m.Sid, "CH1", (&syncv1.UpdateSyncMapItemParams{}).SetIfMatch("0").SetData(map[string]any{"x": "y"}))
	require.NoError(t, err)
	assert.Equal(t, "1", *up.Revision)
	assert.Equal(t, map[string]any{"x": "y"}, *up.Data)
	assert.Equal(t, start.Add(time.Second), *up.DateUpdated)
	assert.Equal(t, start, *up.DateCreated)

	// Without If-Match an update always applies; a TTL-only update keeps Data.
	up, err = f.c.SyncV1.UpdateSyncMapItem("default", "ParkedInteractions_WK1", "CH1", (&syncv1.UpdateSyncMapItemParams{}).SetTtl(30))
	require.NoError(t, err)
	assert.Equal(t, "2", *up.Revision)
	assert.Equal(t, map[string]any{"x": "y"}, *up.Data)
	assert.Equal(t, start.Add(31*time.Second), *up.DateExpires)

	_, err = f.c.SyncV1.UpdateSyncMapItem("default", *m.Sid, "CH1", (&syncv1.UpdateSyncMapItemParams{}).SetData("nope"))
	twilioErr(t, err, 400, 54008)

	// Delete honours If-Match too (quoted ETag form accepted).
	err = f.c.SyncV1.DeleteSyncMapItem("default", *m.Sid, "CH1", (&syncv1.DeleteSyncMapItemParams{}).SetIfMatch("1"))
	twilioErr(t, err, 412, 54205)
	require.NoError(t, f.c.SyncV1.DeleteSyncMapItem("default", *m.Sid, "CH1", (&syncv1.DeleteSyncMapItemParams{}).SetIfMatch(`"2"`)))
	_, err = f.c.SyncV1.FetchSyncMapItem("default", *m.Sid, "CH1")
	twilioErr(t, err, 404, 54201)
	err = f.c.SyncV1.DeleteSyncMapItem("default", *m.Sid, "CH1", nil)
	twilioErr(t, err, 404, 54201)

	// The key is free again after a delete.
	again := f.createItem(t, *m.Sid, "CH1", data)
	assert.Equal(t, "0", *again.Revision)

	// The map's revision counts every change to its items.
	fm, err := f.c.SyncV1.FetchSyncMap("default", *m.Sid)
	require.NoError(t, err)
	assert.Equal(t, "5", *fm.Revision)
}

func TestItemKeyNeedsEscaping(t *testing.T) {
	f := setup(t)
	m := f.createMap(t, "")
	f.createItem(t, *m.Sid, "a key", map[string]any{"v": 1})
	got, err := f.c.SyncV1.FetchSyncMapItem("default", *m.Sid, "a%20key")
	require.NoError(t, err)
	assert.Equal(t, "a key", *got.Key)
	assert.True(t, strings.HasSuffix(*got.Url, "/Items/a%20key"), *got.Url)
}

func keys(items []syncv1.SyncV1SyncMapItem) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = *it.Key
	}
	return out
}

func TestListItems(t *testing.T) {
	f := setup(t)
	m := f.createMap(t, "m")
	var all []string
	for i := 9; i >= 0; i-- { // created out of order: the list sorts by key
		f.createItem(t, "m", fmt.Sprintf("k%02d", i), map[string]any{"i": i})
	}
	for i := 0; i < 10; i++ {
		all = append(all, fmt.Sprintf("k%02d", i))
	}
	reversed := make([]string, len(all))
	for i, k := range all {
		reversed[len(all)-1-i] = k
	}

	tests := []struct {
		name   string
		params *syncv1.ListSyncMapItemParams
		want   []string
	}{
		{"default ascending", nil, all},
		{"desc", (&syncv1.ListSyncMapItemParams{}).SetOrder("desc"), reversed},
		{"from inclusive", (&syncv1.ListSyncMapItemParams{}).SetFrom("k07"), all[7:]},
		{"from exclusive", (&syncv1.ListSyncMapItemParams{}).SetFrom("k07").SetBounds("exclusive"), all[8:]},
		{"from between keys", (&syncv1.ListSyncMapItemParams{}).SetFrom("k075"), all[8:]},
		{"desc from inclusive", (&syncv1.ListSyncMapItemParams{}).SetOrder("desc").SetFrom("k02"), []string{"k02", "k01", "k00"}},
		{"desc from exclusive", (&syncv1.ListSyncMapItemParams{}).SetOrder("desc").SetFrom("k02").SetBounds("exclusive"), []string{"k01", "k00"}},
		{"paged by 3", (&syncv1.ListSyncMapItemParams{}).SetPageSize(3), all},
		{"paged desc by 4", (&syncv1.ListSyncMapItemParams{}).SetPageSize(4).SetOrder("desc"), reversed},
		{"paged from by 2", (&syncv1.ListSyncMapItemParams{}).SetPageSize(2).SetFrom("k05"), all[5:]},
		{"limit", (&syncv1.ListSyncMapItemParams{}).SetLimit(4), all[:4]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.c.SyncV1.ListSyncMapItem("default", *m.Sid, tt.params)
			require.NoError(t, err)
			assert.Equal(t, tt.want, keys(got))
		})
	}

	page, err := f.c.SyncV1.PageSyncMapItem("default", "m", (&syncv1.ListSyncMapItemParams{}).SetPageSize(3), "", "")
	require.NoError(t, err)
	assert.Equal(t, all[:3], keys(page.Items))
	require.NotNil(t, page.Meta.NextPageUrl)
	assert.Equal(t, "items", page.Meta.Key)

	_, err = f.c.SyncV1.PageSyncMapItem("default", "m", (&syncv1.ListSyncMapItemParams{}).SetOrder("sideways"), "", "")
	twilioErr(t, err, 400, 20001)
	_, err = f.c.SyncV1.PageSyncMapItem("default", "m", (&syncv1.ListSyncMapItemParams{}).SetBounds("open"), "", "")
	twilioErr(t, err, 400, 20001)
}

func TestTTLExpiry(t *testing.T) {
	f := setup(t)
	m := f.createMap(t, "parked")

	it, err := f.c.SyncV1.CreateSyncMapItem("default", "parked", (&syncv1.CreateSyncMapItemParams{}).SetKey("a").SetData(map[string]any{}).SetTtl(60))
	require.NoError(t, err)
	assert.Equal(t, start.Add(time.Minute), *it.DateExpires)
	// ItemTtl wins over Ttl.
	it, err = f.c.SyncV1.CreateSyncMapItem("default", "parked", (&syncv1.CreateSyncMapItemParams{}).SetKey("b").SetData(map[string]any{}).SetTtl(5).SetItemTtl(120))
	require.NoError(t, err)
	assert.Equal(t, start.Add(2*time.Minute), *it.DateExpires)
	f.createItem(t, "parked", "forever", map[string]any{})

	f.advance(59 * time.Second)
	_, err = f.c.SyncV1.FetchSyncMapItem("default", "parked", "a")
	require.NoError(t, err, "not yet expired")

	f.advance(time.Second)
	_, err = f.c.SyncV1.FetchSyncMapItem("default", "parked", "a")
	twilioErr(t, err, 404, 54201)

	// Re-arming a TTL pushes the expiry out; TTL 0 removes it.
	_, err = f.c.SyncV1.UpdateSyncMapItem("default", "parked", "b", (&syncv1.UpdateSyncMapItemParams{}).SetItemTtl(600))
	require.NoError(t, err)
	f.advance(2 * time.Minute)
	_, err = f.c.SyncV1.FetchSyncMapItem("default", "parked", "b")
	require.NoError(t, err, "the old expiry no longer applies")
	up, err := f.c.SyncV1.UpdateSyncMapItem("default", "parked", "b", (&syncv1.UpdateSyncMapItemParams{}).SetTtl(0))
	require.NoError(t, err)
	assert.Nil(t, up.DateExpires)
	f.advance(time.Hour)
	got, err := f.c.SyncV1.ListSyncMapItem("default", "parked", nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"b", "forever"}, keys(got))

	// An item's CollectionTtl sets its map's expiry; the map then goes with
	// its items, and its unique name is free again.
	now := start.Add(time.Minute + 2*time.Minute + time.Hour)
	_, err = f.c.SyncV1.CreateSyncMapItem("default", "parked", (&syncv1.CreateSyncMapItemParams{}).SetKey("c").SetData(map[string]any{}).SetItemTtl(3600).SetCollectionTtl(300))
	require.NoError(t, err)
	fm, err := f.c.SyncV1.FetchSyncMap("default", *m.Sid)
	require.NoError(t, err)
	assert.Equal(t, now.Add(5*time.Minute), *fm.DateExpires)
	f.advance(5 * time.Minute)
	_, err = f.c.SyncV1.FetchSyncMap("default", *m.Sid)
	twilioErr(t, err, 404, 54200)
	_, err = f.c.SyncV1.FetchSyncMapItem("default", *m.Sid, "b")
	twilioErr(t, err, 404, 54200)
	f.advance(2 * time.Hour) // the item's own timer must not resurrect anything
	f.createMap(t, "parked")

	f.env.Lock()
	snap := f.store.Snapshot()
	f.env.Unlock()
	b, err := json.Marshal(snap)
	require.NoError(t, err)
	assert.NotContains(t, string(b), *m.Sid)
}

func TestMapTTLExpiry(t *testing.T) {
	f := setup(t)
	m, err := f.c.SyncV1.CreateSyncMap("default", (&syncv1.CreateSyncMapParams{}).SetUniqueName("short").SetCollectionTtl(10))
	require.NoError(t, err)
	f.createItem(t, "short", "k", map[string]any{})
	f.advance(9 * time.Second)
	_, err = f.c.SyncV1.FetchSyncMap("default", *m.Sid)
	require.NoError(t, err)
	f.advance(time.Second)
	_, err = f.c.SyncV1.FetchSyncMap("default", "short")
	twilioErr(t, err, 404, 54200)
	list, err := f.c.SyncV1.ListSyncMap("default", nil)
	require.NoError(t, err)
	assert.Empty(t, list)
}

func TestConcurrentCreateOneKey(t *testing.T) {
	f := setup(t)
	m := f.createMap(t, "claims")
	const n = 100
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = f.c.SyncV1.CreateSyncMapItem("default", *m.Sid,
				(&syncv1.CreateSyncMapItemParams{}).SetKey("CH1").SetData(map[string]any{"by": i}))
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
			continue
		}
		var te *twclient.TwilioRestError
		require.True(t, errors.As(err, &te), "%v", err)
		assert.Equal(t, http.StatusConflict, te.Status)
		assert.Equal(t, 54208, te.Code)
	}
	assert.Equal(t, 1, won, "exactly one create wins")
}

func TestIfMatchRace(t *testing.T) {
	f := setup(t)
	m := f.createMap(t, "race")
	f.createItem(t, *m.Sid, "k", map[string]any{"owner": ""})
	const n = 50
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = f.c.SyncV1.UpdateSyncMapItem("default", *m.Sid, "k",
				(&syncv1.UpdateSyncMapItemParams{}).SetIfMatch("0").SetData(map[string]any{"owner": i}))
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
			continue
		}
		var te *twclient.TwilioRestError
		require.True(t, errors.As(err, &te), "%v", err)
		assert.Equal(t, 412, te.Status)
		assert.Equal(t, 54205, te.Code)
	}
	assert.Equal(t, 1, won, "exactly one If-Match update wins")
	got, err := f.c.SyncV1.FetchSyncMapItem("default", *m.Sid, "k")
	require.NoError(t, err)
	assert.Equal(t, "1", *got.Revision)
}

func TestSnapshot(t *testing.T) {
	f := setup(t)
	m := f.createMap(t, "ParkedInteractions_WK1")
	// Data is kept as sent: a large integer keeps its digits.
	_, err := f.c.SyncV1.CreateSyncMapItem("default", *m.Sid, (&syncv1.CreateSyncMapItemParams{}).SetKey("CH1").
		SetData(json.RawMessage(`{"big": 12345678901234567890, "s": "x"}`)).SetTtl(86400))
	require.NoError(t, err)

	f.env.Lock()
	snap := f.store.Snapshot()
	f.env.Unlock()
	b, err := json.Marshal(snap)
	require.NoError(t, err)
	want := fmt.Sprintf(`{"services":[{"sid":%q,"uniqueName":"default","maps":[{"sid":%q,"uniqueName":"ParkedInteractions_WK1","revision":"1","dateExpires":null,`+
		`"items":[{"key":"CH1","data":{"big":12345678901234567890,"s":"x"},"revision":"0","dateExpires":"2026-03-05T05:06:07Z"}]}]}]}`,
		core.SeedSID("IS", "default"), *m.Sid)
	assert.JSONEq(t, want, string(b))
}

func TestUnknownPaths(t *testing.T) {
	f := setup(t)
	m := f.createMap(t, "m")
	// twilio-go has no call for these; go through its base client.
	base := emutest.BaseClient(t, f.url)
	resp, err := base.SendRequest(http.MethodGet, "https://sync.twilio.com/v1/Services/default/Documents", nil, nil)
	if resp != nil {
		resp.Body.Close()
	}
	twilioErr(t, err, 404, 20404)
	resp, err = base.SendRequest(http.MethodPut, "https://sync.twilio.com/v1/Services/default/Maps/"+*m.Sid, nil, nil)
	if resp != nil {
		resp.Body.Close()
	}
	twilioErr(t, err, 405, 20004)
}
