package syncapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

// maxData is Sync's limit on an item's serialized Data.
const maxData = 16 << 10

// itemJSON is the Map Item resource as the spec's sync.v1.service.sync_map.sync_map_item.
type itemJSON struct {
	Key         string          `json:"key"`
	AccountSid  string          `json:"account_sid"`
	ServiceSid  string          `json:"service_sid"`
	MapSid      string          `json:"map_sid"`
	URL         string          `json:"url"`
	Revision    string          `json:"revision"`
	Data        json.RawMessage `json:"data"`
	DateExpires *string         `json:"date_expires"`
	DateCreated string          `json:"date_created"`
	DateUpdated string          `json:"date_updated"`
	CreatedBy   string          `json:"created_by"`
}

func (s *Store) itemJSON(r *http.Request, m *syncMap, it *item) itemJSON {
	return itemJSON{
		Key:         it.key,
		AccountSid:  s.env.AccountSID,
		ServiceSid:  m.svc.sid,
		MapSid:      m.sid,
		URL:         core.ResourceURL(r, "/v1/Services/"+m.svc.sid+"/Maps/"+m.sid+"/Items/"+url.PathEscape(it.key)),
		Revision:    itoa(it.revision),
		Data:        it.data,
		DateExpires: core.ISOPtr(it.expires),
		DateCreated: core.ISO(it.created),
		DateUpdated: core.ISO(it.updated),
		CreatedBy:   "system",
	}
}

func (s *Store) writeItem(w http.ResponseWriter, r *http.Request, status int, m *syncMap, it *item) {
	w.Header().Set("ETag", itoa(it.revision))
	core.WriteJSON(w, status, s.itemJSON(r, m, it))
}

// parseData validates the Data parameter: a JSON object of at most 16 KiB.
// It is kept compacted, byte for byte otherwise, so numbers keep their text.
func parseData(raw string) (json.RawMessage, *core.Error) {
	if len(raw) > maxData {
		return nil, core.Errf(http.StatusRequestEntityTooLarge, codeRequestTooLarge,
			"Request entity too large: Data exceeds %d bytes", maxData)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(raw)); err != nil {
		return nil, core.Errf(http.StatusBadRequest, codeInvalidJSON, "Invalid JSON in Data: %v", err)
	}
	if buf.Len() == 0 || buf.Bytes()[0] != '{' {
		return nil, core.Errf(http.StatusBadRequest, codeInvalidJSON, "Invalid JSON in Data: must be a JSON object")
	}
	return json.RawMessage(buf.Bytes()), nil
}

func (s *Store) createItem(w http.ResponseWriter, r *http.Request, m *syncMap) *core.Error {
	p, err := core.Form(r)
	if err != nil {
		return err
	}
	if !p.Has("Key") {
		return core.Required("Key")
	}
	key := p.Get("Key")
	if key == "" || len(key) > 256 {
		return core.Errf(http.StatusBadRequest, codeInvalidItemKey, "Invalid Map Item key: must be 1-256 characters")
	}
	if !p.Has("Data") {
		return core.Required("Data")
	}
	data, err := parseData(p.Get("Data"))
	if err != nil {
		return err
	}
	itemTTL, _, err := ttlParam(p, "ItemTtl", "Ttl")
	if err != nil {
		return err
	}
	collTTL, collPresent, err := ttlParam(p, "CollectionTtl")
	if err != nil {
		return err
	}
	if m.items[key] != nil {
		return core.Errf(http.StatusConflict, codeItemExists, "Map Item already exists: %s", key)
	}
	now := s.env.Now()
	it := &item{key: key, data: data, created: now, updated: now}
	m.items[key] = it
	s.setItemTTL(m, it, itemTTL)
	if collPresent {
		s.setMapTTL(m, collTTL)
	}
	m.revision++
	m.updated = now
	s.writeItem(w, r, http.StatusCreated, m, it)
	return nil
}

// existing resolves the path's item and checks If-Match against it.
func (s *Store) existing(r *http.Request, m *syncMap, checkMatch bool) (*item, *core.Error) {
	key := param(r, "key")
	it := m.items[key]
	if it == nil {
		return nil, core.Errf(http.StatusNotFound, codeItemNotFound, "Map Item not found: %s", key)
	}
	want, ok := ifMatch(r)
	if !ok || !checkMatch {
		return it, nil
	}
	if _, err := strconv.ParseUint(want, 10, 63); err != nil {
		return nil, core.Errf(http.StatusBadRequest, codeInvalidIfMatch,
			"Invalid If-Match header %q: it must be a revision this service issued", want)
	}
	if want != itoa(it.revision) {
		return nil, core.Errf(http.StatusPreconditionFailed, codeItemRevision,
			"The revision of the Map Item (%d) does not match the If-Match header (%s)", it.revision, want)
	}
	return it, nil
}

func (s *Store) fetchItem(w http.ResponseWriter, r *http.Request, m *syncMap) *core.Error {
	it, err := s.existing(r, m, false)
	if err != nil {
		return err
	}
	s.writeItem(w, r, http.StatusOK, m, it)
	return nil
}

func (s *Store) updateItem(w http.ResponseWriter, r *http.Request, m *syncMap) *core.Error {
	p, err := core.Form(r)
	if err != nil {
		return err
	}
	it, err := s.existing(r, m, true)
	if err != nil {
		return err
	}
	var data json.RawMessage
	if p.Has("Data") {
		if data, err = parseData(p.Get("Data")); err != nil {
			return err
		}
	}
	itemTTL, itemPresent, err := ttlParam(p, "ItemTtl", "Ttl")
	if err != nil {
		return err
	}
	collTTL, collPresent, err := ttlParam(p, "CollectionTtl")
	if err != nil {
		return err
	}
	// Validation is over: from here the update applies whole.
	if data != nil {
		it.data = data // Sync replaces Data; it does not merge
	}
	if itemPresent {
		s.setItemTTL(m, it, itemTTL)
	}
	if collPresent {
		s.setMapTTL(m, collTTL)
	}
	now := s.env.Now()
	it.revision++
	it.updated = now
	m.revision++
	m.updated = now
	s.writeItem(w, r, http.StatusOK, m, it)
	return nil
}

func (s *Store) deleteItem(w http.ResponseWriter, r *http.Request, m *syncMap) *core.Error {
	it, err := s.existing(r, m, true)
	if err != nil {
		return err
	}
	s.removeItem(m, it)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listItems pages through the items ordered by key (Order asc|desc),
// starting at From (Bounds inclusive|exclusive).
func (s *Store) listItems(w http.ResponseWriter, r *http.Request, m *syncMap) *core.Error {
	q := r.URL.Query()
	order := q.Get("Order")
	if order == "" {
		order = "asc"
	}
	if order != "asc" && order != "desc" {
		return core.BadParam("Order", "must be asc or desc")
	}
	bounds := q.Get("Bounds")
	if bounds == "" {
		bounds = "inclusive"
	}
	if bounds != "inclusive" && bounds != "exclusive" {
		return core.BadParam("Bounds", "must be inclusive or exclusive")
	}
	items := m.sortedItems()
	if order == "desc" {
		sort.Slice(items, func(i, j int) bool { return items[i].key > items[j].key })
	}
	if q.Has("From") {
		from := q.Get("From")
		kept := items[:0]
		for _, it := range items {
			var after bool // is it.key at or past From in this order?
			if order == "asc" {
				after = it.key > from || (it.key == from && bounds == "inclusive")
			} else {
				after = it.key < from || (it.key == from && bounds == "inclusive")
			}
			if after {
				kept = append(kept, it)
			}
		}
		items = kept
	}
	out := make([]itemJSON, len(items))
	for i, it := range items {
		out[i] = s.itemJSON(r, m, it)
	}
	core.WriteList(w, r, out, "items")
	return nil
}
