package syncapi

import (
	"net/http"
	"time"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

// serviceJSON is the Service resource as the spec's sync.v1.service.
type serviceJSON struct {
	Sid                           string            `json:"sid"`
	UniqueName                    *string           `json:"unique_name"`
	AccountSid                    string            `json:"account_sid"`
	FriendlyName                  *string           `json:"friendly_name"`
	DateCreated                   string            `json:"date_created"`
	DateUpdated                   string            `json:"date_updated"`
	URL                           string            `json:"url"`
	WebhookURL                    *string           `json:"webhook_url"`
	WebhooksFromRestEnabled       bool              `json:"webhooks_from_rest_enabled"`
	ReachabilityWebhooksEnabled   bool              `json:"reachability_webhooks_enabled"`
	ACLEnabled                    bool              `json:"acl_enabled"`
	ReachabilityDebouncingEnabled bool              `json:"reachability_debouncing_enabled"`
	ReachabilityDebouncingWindow  int               `json:"reachability_debouncing_window"`
	Links                         map[string]string `json:"links"`
}

func (s *Store) serviceJSON(r *http.Request, svc *service) serviceJSON {
	base := core.ResourceURL(r, "/v1/Services/"+svc.sid)
	return serviceJSON{
		Sid:                           svc.sid,
		UniqueName:                    nullable(svc.uniqueName),
		AccountSid:                    s.env.AccountSID,
		FriendlyName:                  nullable(svc.friendlyName),
		DateCreated:                   core.ISO(svc.created),
		DateUpdated:                   core.ISO(svc.updated),
		URL:                           base,
		WebhookURL:                    nullable(svc.settings.webhookURL),
		WebhooksFromRestEnabled:       svc.settings.webhooksFromRest,
		ReachabilityWebhooksEnabled:   svc.settings.reachabilityWebhooks,
		ACLEnabled:                    svc.settings.acl,
		ReachabilityDebouncingEnabled: svc.settings.debouncing,
		ReachabilityDebouncingWindow:  svc.settings.debouncingWindow,
		Links: map[string]string{
			"documents": base + "/Documents",
			"lists":     base + "/Lists",
			"maps":      base + "/Maps",
			"streams":   base + "/Streams",
		},
	}
}

func (s *Store) listServices(w http.ResponseWriter, r *http.Request) {
	core.WriteOldestFirst(w, r, "services", s.services,
		func(svc *service) time.Time { return svc.created },
		func(svc *service) serviceJSON { return s.serviceJSON(r, svc) })
}

func (s *Store) fetchService(w http.ResponseWriter, r *http.Request, svc *service) *core.Error {
	core.WriteJSON(w, http.StatusOK, s.serviceJSON(r, svc))
	return nil
}

// serviceSettings are a service's options. The emulator stores and reports
// them; it sends no Sync webhooks and enforces no ACLs.
type serviceSettings struct {
	webhookURL           string
	webhooksFromRest     bool
	reachabilityWebhooks bool
	acl                  bool
	debouncing           bool
	debouncingWindow     int // milliseconds
}

// defaultSettings are Twilio's defaults for a new service.
var defaultSettings = serviceSettings{debouncingWindow: 5000}

// applySettings reads the options a create or update may carry; absent
// ones keep their value.
func applySettings(p core.Params, svc *service) *core.Error {
	st := svc.settings
	if p.Has("FriendlyName") {
		svc.friendlyName = p.Get("FriendlyName")
	}
	if p.Has("WebhookUrl") {
		st.webhookURL = p.Get("WebhookUrl")
	}
	bools := []struct {
		name string
		dst  *bool
	}{
		{"WebhooksFromRestEnabled", &st.webhooksFromRest},
		{"ReachabilityWebhooksEnabled", &st.reachabilityWebhooks},
		{"AclEnabled", &st.acl},
		{"ReachabilityDebouncingEnabled", &st.debouncing},
	}
	for _, b := range bools {
		v, err := p.Bool(b.name, *b.dst)
		if err != nil {
			return err
		}
		*b.dst = v
	}
	w, err := p.Int("ReachabilityDebouncingWindow", st.debouncingWindow)
	if err != nil {
		return err
	}
	if w < 1000 || w > 30000 {
		return core.BadParam("ReachabilityDebouncingWindow", "must be between 1000 and 30000 milliseconds")
	}
	st.debouncingWindow = w
	svc.settings = st
	return nil
}

func (s *Store) createService(w http.ResponseWriter, r *http.Request) {
	p, err := core.Form(r)
	if err != nil {
		core.WriteError(w, err)
		return
	}
	now := s.env.Now()
	svc := &service{
		sid: core.NewSID("IS"), settings: defaultSettings, created: now, updated: now,
		maps: make(map[string]*syncMap), mapsByName: make(map[string]*syncMap),
	}
	if err := applySettings(p, svc); err != nil {
		core.WriteError(w, err)
		return
	}
	s.services[svc.sid] = svc
	core.WriteJSON(w, http.StatusCreated, s.serviceJSON(r, svc))
}

func (s *Store) updateService(w http.ResponseWriter, r *http.Request, svc *service) *core.Error {
	p, err := core.Form(r)
	if err != nil {
		return err
	}
	// Validate on a copy so a bad parameter changes nothing.
	upd := *svc
	if err := applySettings(p, &upd); err != nil {
		return err
	}
	svc.friendlyName, svc.settings = upd.friendlyName, upd.settings
	svc.updated = s.env.Now()
	core.WriteJSON(w, http.StatusOK, s.serviceJSON(r, svc))
	return nil
}

// deleteService removes the service with its maps and their timers. The
// seeded default service can be deleted too, as on Twilio; the "default"
// alias then resolves to nothing.
func (s *Store) deleteService(w http.ResponseWriter, r *http.Request, svc *service) *core.Error {
	for _, m := range svc.maps {
		s.removeMap(m)
	}
	delete(s.services, svc.sid)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
