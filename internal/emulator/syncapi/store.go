// Package syncapi emulates Twilio Sync (sync.twilio.com) as far as a Flex
// backend uses it: services, Maps and Map Items, with revisions, If-Match
// optimistic concurrency, and TTLs that expire on the virtual clock.
//
// Everything runs under the emulator's world lock (core.Locked), which is
// what makes a Map Item create an atomic claim: of N concurrent creates of
// one key, exactly one gets 201 and the rest 409 / 54208, as on Twilio.
package syncapi

import (
	"encoding/json"
	"sort"
	"time"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

// DefaultServiceName is the seeded service's unique name; Twilio resolves
// /v1/Services/default/... to an account's default Sync service the same way.
const DefaultServiceName = "default"

// Store is Sync's state. Its methods run with env's lock held.
type Store struct {
	env      *core.Env
	services map[string]*service // by SID
	seq      uint64              // creation order, for stable listings
	limits   *limiter
}

type service struct {
	sid, uniqueName, friendlyName string
	created, updated              time.Time
	settings                      serviceSettings
	maps                          map[string]*syncMap // by SID
	mapsByName                    map[string]*syncMap // by unique name
}

type syncMap struct {
	sid, uniqueName  string
	svc              *service
	seq              uint64
	revision         int
	created, updated time.Time
	expires          time.Time // zero: never
	timer            *core.Timer
	items            map[string]*item // by key
}

type item struct {
	key              string
	data             json.RawMessage
	revision         int
	created, updated time.Time
	expires          time.Time // zero: never
	timer            *core.Timer
}

// New returns a store holding the default service (unique name "default",
// SID core.SeedSID("IS", "default")).
func New(env *core.Env) *Store {
	s := &Store{env: env, services: make(map[string]*service), limits: newLimiter()}
	now := env.Now()
	svc := &service{
		sid:          core.SeedSID("IS", DefaultServiceName),
		uniqueName:   DefaultServiceName,
		friendlyName: "Default Service",
		settings:     defaultSettings,
		created:      now,
		updated:      now,
		maps:         make(map[string]*syncMap),
		mapsByName:   make(map[string]*syncMap),
	}
	s.services[svc.sid] = svc
	return s
}

// DefaultServiceSID is the SID of the seeded default service.
func (s *Store) DefaultServiceSID() string { return core.SeedSID("IS", DefaultServiceName) }

// service resolves a path's service: its SID, or its unique name (which is
// how the "default" alias works).
func (s *Store) service(sidOrName string) *service {
	if svc, ok := s.services[sidOrName]; ok {
		return svc
	}
	for _, svc := range s.services {
		if svc.uniqueName != "" && svc.uniqueName == sidOrName {
			return svc
		}
	}
	return nil
}

// lookupMap resolves a map by SID or unique name within svc.
func (svc *service) lookupMap(sidOrName string) *syncMap {
	if m, ok := svc.maps[sidOrName]; ok {
		return m
	}
	return svc.mapsByName[sidOrName]
}

// setMapTTL (re)arms the map's expiry; ttl 0 means it never expires.
func (s *Store) setMapTTL(m *syncMap, ttl int) {
	m.timer.Stop()
	m.timer, m.expires = nil, time.Time{}
	if ttl > 0 {
		m.expires = s.env.Now().Add(time.Duration(ttl) * time.Second)
		m.timer = s.env.Schedule(m.expires, func() { s.removeMap(m) })
	}
}

// setItemTTL (re)arms the item's expiry; ttl 0 means it never expires.
func (s *Store) setItemTTL(m *syncMap, it *item, ttl int) {
	it.timer.Stop()
	it.timer, it.expires = nil, time.Time{}
	if ttl > 0 {
		it.expires = s.env.Now().Add(time.Duration(ttl) * time.Second)
		it.timer = s.env.Schedule(it.expires, func() { s.removeItem(m, it) })
	}
}

// removeMap deletes a map and its items and cancels their timers. It is a
// no-op for a map already gone (a timer racing a DELETE).
func (s *Store) removeMap(m *syncMap) {
	if m.svc.maps[m.sid] != m {
		return
	}
	m.timer.Stop()
	for _, it := range m.items {
		it.timer.Stop()
	}
	delete(m.svc.maps, m.sid)
	s.limits.forget(m.sid)
	if m.uniqueName != "" {
		delete(m.svc.mapsByName, m.uniqueName)
	}
}

// removeItem deletes an item if it is still the map's item for its key.
func (s *Store) removeItem(m *syncMap, it *item) {
	if m.items[it.key] != it {
		return
	}
	it.timer.Stop()
	delete(m.items, it.key)
	m.revision++
	m.updated = s.env.Now()
}

// sortedMaps lists a service's maps in creation order.
func (svc *service) sortedMaps() []*syncMap {
	out := make([]*syncMap, 0, len(svc.maps))
	for _, m := range svc.maps {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

// sortedItems lists a map's items by key, ascending, as Twilio orders them.
func (m *syncMap) sortedItems() []*item {
	out := make([]*item, 0, len(m.items))
	for _, it := range m.items {
		out = append(out, it)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

// Snapshot is Sync's part of GET /emulator/state: every service's maps and
// their items.
func (s *Store) Snapshot() any {
	type itemView struct {
		Key         string          `json:"key"`
		Data        json.RawMessage `json:"data"`
		Revision    string          `json:"revision"`
		DateExpires *string         `json:"dateExpires"`
	}
	type mapView struct {
		Sid         string     `json:"sid"`
		UniqueName  *string    `json:"uniqueName"`
		Revision    string     `json:"revision"`
		DateExpires *string    `json:"dateExpires"`
		Items       []itemView `json:"items"`
	}
	type serviceView struct {
		Sid        string    `json:"sid"`
		UniqueName string    `json:"uniqueName"`
		Maps       []mapView `json:"maps"`
	}
	services := make([]*service, 0, len(s.services))
	for _, svc := range s.services {
		services = append(services, svc)
	}
	sort.Slice(services, func(i, j int) bool { return services[i].sid < services[j].sid })
	out := make([]serviceView, 0, len(services))
	for _, svc := range services {
		sv := serviceView{Sid: svc.sid, UniqueName: svc.uniqueName, Maps: []mapView{}}
		for _, m := range svc.sortedMaps() {
			mv := mapView{Sid: m.sid, UniqueName: nullable(m.uniqueName), Revision: itoa(m.revision),
				DateExpires: core.ISOPtr(m.expires), Items: []itemView{}}
			for _, it := range m.sortedItems() {
				mv.Items = append(mv.Items, itemView{Key: it.key, Data: it.data, Revision: itoa(it.revision),
					DateExpires: core.ISOPtr(it.expires)})
			}
			sv.Maps = append(sv.Maps, mv)
		}
		out = append(out, sv)
	}
	return map[string]any{"services": out}
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func itoa(n int) string { return core.Itoa(n) }
