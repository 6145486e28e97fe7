package syncapi

import (
	"net/http"
	"regexp"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

// maxTTL is Sync's longest TTL: one year, in seconds.
const maxTTL = 31536000

// mapJSON is the Map resource as the spec's sync.v1.service.sync_map.
type mapJSON struct {
	Sid         string            `json:"sid"`
	UniqueName  *string           `json:"unique_name"`
	AccountSid  string            `json:"account_sid"`
	ServiceSid  string            `json:"service_sid"`
	URL         string            `json:"url"`
	Links       map[string]string `json:"links"`
	Revision    string            `json:"revision"`
	DateExpires *string           `json:"date_expires"`
	DateCreated string            `json:"date_created"`
	DateUpdated string            `json:"date_updated"`
	CreatedBy   string            `json:"created_by"`
}

func (s *Store) mapJSON(r *http.Request, m *syncMap) mapJSON {
	base := core.ResourceURL(r, "/v1/Services/"+m.svc.sid+"/Maps/"+m.sid)
	return mapJSON{
		Sid:         m.sid,
		UniqueName:  nullable(m.uniqueName),
		AccountSid:  s.env.AccountSID,
		ServiceSid:  m.svc.sid,
		URL:         base,
		Links:       map[string]string{"items": base + "/Items", "permissions": base + "/Permissions"},
		Revision:    itoa(m.revision),
		DateExpires: core.ISOPtr(m.expires),
		DateCreated: core.ISO(m.created),
		DateUpdated: core.ISO(m.updated),
		CreatedBy:   "system", // REST-created objects say so on Twilio
	}
}

// writeMap answers with the map and its revision as ETag, as Sync does.
func (s *Store) writeMap(w http.ResponseWriter, r *http.Request, status int, m *syncMap) {
	w.Header().Set("ETag", itoa(m.revision))
	core.WriteJSON(w, status, s.mapJSON(r, m))
}

// ttlParam reads the first of names that was sent (Sync's aliases: the
// specific name wins over the plain Ttl). present is false when none was.
func ttlParam(p core.Params, names ...string) (ttl int, present bool, err *core.Error) {
	for _, name := range names {
		if !p.Has(name) {
			continue
		}
		n, err := p.Int(name, 0)
		if err != nil {
			return 0, false, err
		}
		if n < 0 || n > maxTTL {
			return 0, false, core.BadParam(name, "must be between 0 and 31536000 seconds")
		}
		return n, true, nil
	}
	return 0, false, nil
}

// sidLike is the pattern a unique name may not match: it would be
// ambiguous with a SID in the URL.
var sidLike = regexp.MustCompile(`^[A-Z]{2}[a-f0-9]{32}$`)

func (s *Store) createMap(w http.ResponseWriter, r *http.Request, svc *service) *core.Error {
	p, err := core.Form(r)
	if err != nil {
		return err
	}
	name := p.Get("UniqueName")
	if p.Has("UniqueName") && (name == "" || len(name) > 256 || sidLike.MatchString(name)) {
		return core.Errf(http.StatusBadRequest, codeInvalidName,
			"Invalid unique name: must be 1-256 characters and not look like a SID")
	}
	if name != "" && svc.mapsByName[name] != nil {
		return core.Errf(http.StatusConflict, codeUniqueNameExists, "Unique name already exists: %s", name)
	}
	ttl, _, err := ttlParam(p, "CollectionTtl", "Ttl")
	if err != nil {
		return err
	}
	now := s.env.Now()
	s.seq++
	m := &syncMap{
		sid: core.NewSID("MP"), uniqueName: name, svc: svc, seq: s.seq,
		created: now, updated: now, items: make(map[string]*item),
	}
	svc.maps[m.sid] = m
	if name != "" {
		svc.mapsByName[name] = m
	}
	s.setMapTTL(m, ttl)
	s.writeMap(w, r, http.StatusCreated, m)
	return nil
}

func (s *Store) listMaps(w http.ResponseWriter, r *http.Request, svc *service) *core.Error {
	maps := svc.sortedMaps()
	out := make([]mapJSON, len(maps))
	for i, m := range maps {
		out[i] = s.mapJSON(r, m)
	}
	core.WriteList(w, r, out, "maps")
	return nil
}

func (s *Store) fetchMap(w http.ResponseWriter, r *http.Request, m *syncMap) *core.Error {
	s.writeMap(w, r, http.StatusOK, m)
	return nil
}

func (s *Store) updateMap(w http.ResponseWriter, r *http.Request, m *syncMap) *core.Error {
	p, err := core.Form(r)
	if err != nil {
		return err
	}
	ttl, present, err := ttlParam(p, "CollectionTtl", "Ttl")
	if err != nil {
		return err
	}
	if present {
		s.setMapTTL(m, ttl)
	}
	m.revision++
	m.updated = s.env.Now()
	s.writeMap(w, r, http.StatusOK, m)
	return nil
}

func (s *Store) deleteMap(w http.ResponseWriter, r *http.Request, m *syncMap) *core.Error {
	s.removeMap(m)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
