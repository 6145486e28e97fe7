package conversations

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

// Twilio's limits on conversation-scoped webhooks.
const (
	maxScopedWebhooks = 5
	maxTriggers       = 5
	maxTriggerLen     = 248
	maxWebhookURLLen  = 512
)

// webhookSettings is what create and update of a scoped webhook read.
type webhookSettings struct {
	URL, Method, FlowSid string
	Filters, Triggers    []string
	hasURL, hasMethod    bool
	hasFilters, hasTrigs bool
	hasFlow              bool
}

func readWebhookSettings(f core.Params) (webhookSettings, *core.Error) {
	ws := webhookSettings{
		URL: f.Get("Configuration.Url"), hasURL: f.Has("Configuration.Url"),
		Method: strings.ToUpper(f.Get("Configuration.Method")), hasMethod: f.Has("Configuration.Method"),
		FlowSid: f.Get("Configuration.FlowSid"), hasFlow: f.Has("Configuration.FlowSid"),
		Filters: f.All("Configuration.Filters"), hasFilters: f.Has("Configuration.Filters"),
		Triggers: f.All("Configuration.Triggers"), hasTrigs: f.Has("Configuration.Triggers"),
	}
	if ws.URL != "" {
		if len(ws.URL) > maxWebhookURLLen {
			return ws, core.Errf(http.StatusBadRequest, codeWebhookURLTooLong, "Conversation webhook URL is too long")
		}
		if u, err := url.Parse(ws.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return ws, core.BadParam("Configuration.Url", "must be an absolute http(s) URL")
		}
	}
	switch ws.Method {
	case "":
		ws.Method = "POST"
	case "GET", "POST":
	default:
		return ws, core.BadParam("Configuration.Method", "must be GET or POST")
	}
	for _, e := range ws.Filters {
		if !slices.Contains(scopedEvents, e) {
			return ws, core.BadParam("Configuration.Filters", "unknown event "+e)
		}
	}
	if len(ws.Triggers) > maxTriggers {
		return ws, core.Errf(http.StatusBadRequest, codeTooManyTriggers, "Too many conversation webhook triggers")
	}
	for _, t := range ws.Triggers {
		if t == "" || len(t) > maxTriggerLen {
			return ws, core.Errf(http.StatusBadRequest, codeInvalidTrigger, "Invalid conversation webhook trigger")
		}
	}
	if ws.FlowSid != "" && !core.ValidSID("FW", ws.FlowSid) {
		return ws, core.BadParam("Configuration.FlowSid", "must be a Studio Flow SID (FW…)")
	}
	return ws, nil
}

// checkTarget applies what each target requires of its configuration.
func checkTarget(wh *ScopedWebhook) *core.Error {
	switch wh.Target {
	case "webhook":
		if wh.URL == "" {
			return core.Required("Configuration.Url")
		}
	case "trigger":
		if wh.URL == "" {
			return core.Required("Configuration.Url")
		}
		if len(wh.Triggers) == 0 {
			return core.Errf(http.StatusBadRequest, codeTriggerMissing, "Conversation webhook trigger not provided")
		}
	case "studio":
		if wh.FlowSid == "" {
			return core.Required("Configuration.FlowSid")
		}
	}
	return nil
}

func (s *Store) webhookOf(r *http.Request) (*Conversation, *ScopedWebhook, *core.Error) {
	return itemOf(s, r, "Webhooks", func(c *Conversation, id string) *ScopedWebhook { return bySid(c.webhooks, id) })
}

func (s *Store) handleCreateWebhook(w http.ResponseWriter, r *http.Request) *core.Error {
	c, f, err := s.conversationForm(r)
	if err != nil {
		return err
	}
	target := f.Get("Target")
	switch target {
	case "":
		return core.Required("Target")
	case "webhook", "studio", "trigger":
	default:
		return core.Errf(http.StatusBadRequest, codeInvalidWebhookType, "Invalid conversation webhook type %q: must be webhook, studio or trigger", target)
	}
	ws, err := readWebhookSettings(f)
	if err != nil {
		return err
	}
	if c.State == "closed" {
		return errClosed(c.Sid)
	}
	if len(c.webhooks) >= maxScopedWebhooks {
		return core.Errf(http.StatusBadRequest, codeTooManyWebhooks, "Too many conversation webhooks: the limit is %d", maxScopedWebhooks)
	}
	now := s.env.Now()
	wh := &ScopedWebhook{
		Sid: core.NewSID("WH"), ConversationSid: c.Sid, Target: target,
		URL: ws.URL, Method: ws.Method, Filters: ws.Filters, Triggers: ws.Triggers, FlowSid: ws.FlowSid,
		DateCreated: now, DateUpdated: now,
	}
	if wh.Filters == nil {
		wh.Filters = []string{}
	}
	if err := checkTarget(wh); err != nil {
		return err
	}
	c.webhooks = append(c.webhooks, wh)
	core.WriteJSON(w, http.StatusCreated, s.webhookJSON(c, wh))
	return nil
}

func (s *Store) handleListWebhooks(w http.ResponseWriter, r *http.Request) *core.Error {
	return listItems(s, w, r, "webhooks", func(c *Conversation) []*ScopedWebhook { return c.webhooks }, s.webhookJSON)
}

func (s *Store) handleFetchWebhook(w http.ResponseWriter, r *http.Request) *core.Error {
	return fetchItem(w, r, s.webhookOf, s.webhookJSON)
}

func (s *Store) handleUpdateWebhook(w http.ResponseWriter, r *http.Request) *core.Error {
	c, wh, err := s.webhookOf(r)
	if err != nil {
		return err
	}
	f, err := core.Form(r)
	if err != nil {
		return err
	}
	ws, err := readWebhookSettings(f)
	if err != nil {
		return err
	}
	if c.State == "closed" {
		return errClosed(c.Sid)
	}
	next := *wh
	if ws.hasURL {
		next.URL = ws.URL
	}
	if ws.hasMethod {
		next.Method = ws.Method
	}
	if ws.hasFilters {
		next.Filters = ws.Filters
	}
	if ws.hasTrigs {
		next.Triggers = ws.Triggers
	}
	if ws.hasFlow {
		next.FlowSid = ws.FlowSid
	}
	if err := checkTarget(&next); err != nil {
		return err
	}
	next.DateUpdated = s.env.Now()
	*wh = next
	core.WriteJSON(w, http.StatusOK, s.webhookJSON(c, wh))
	return nil
}

// handleDeleteWebhook removes the webhook; a second delete of the same SID is
// a 404, which is what makes a webhook delete an atomic claim for flexhooks.
func (s *Store) handleDeleteWebhook(w http.ResponseWriter, r *http.Request) *core.Error {
	c, wh, err := s.webhookOf(r)
	if err != nil {
		return err
	}
	c.webhooks = slices.DeleteFunc(c.webhooks, func(x *ScopedWebhook) bool { return x == wh })
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Store) webhookJSON(c *Conversation, wh *ScopedWebhook) map[string]any {
	cfg := map[string]any{}
	switch wh.Target {
	case "webhook":
		cfg["url"] = wh.URL
		cfg["method"] = strings.ToLower(wh.Method)
		cfg["filters"] = wh.Filters
	case "trigger":
		cfg["url"] = wh.URL
		cfg["method"] = strings.ToLower(wh.Method)
		cfg["triggers"] = wh.Triggers
	case "studio":
		cfg["flow_sid"] = wh.FlowSid
	}
	return map[string]any{
		"sid":              wh.Sid,
		"account_sid":      s.env.AccountSID,
		"chat_service_sid": c.ServiceSid,
		"conversation_sid": c.Sid,
		"target":           wh.Target,
		"url":              apiBase + s.conversationPath(c) + "/Webhooks/" + wh.Sid,
		"configuration":    cfg,
		"date_created":     core.ISO(wh.DateCreated),
		"date_updated":     core.ISO(wh.DateUpdated),
	}
}

// --- account- and service-level configuration ---

func readConfigFilters(f core.Params) ([]string, *core.Error) {
	filters := f.All("Filters")
	for _, e := range filters {
		if !slices.Contains(serviceEvents, e) {
			return nil, core.BadParam("Filters", "unknown event "+e)
		}
	}
	return filters, nil
}

func readConfigURL(f core.Params, name string) (string, *core.Error) {
	v := f.Get(name)
	if v == "" {
		return "", nil
	}
	if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", core.BadParam(name, "must be an absolute http(s) URL")
	}
	return v, nil
}

func readConfigMethod(f core.Params, cur string) (string, *core.Error) {
	switch m := strings.ToUpper(f.Get("Method")); m {
	case "":
		return cur, nil
	case "GET", "POST":
		return m, nil
	default:
		return "", core.BadParam("Method", "must be GET or POST")
	}
}

// readConfig applies the settings that the account- and the service-level
// webhook configuration share (Method, Filters, PreWebhookUrl,
// PostWebhookUrl) to the given fields, each only if sent.
func readConfig(f core.Params, method *string, filters *[]string, pre, post *string) *core.Error {
	var err *core.Error
	if *method, err = readConfigMethod(f, *method); err != nil {
		return err
	}
	if f.Has("Filters") {
		if *filters, err = readConfigFilters(f); err != nil {
			return err
		}
	}
	if f.Has("PreWebhookUrl") {
		if *pre, err = readConfigURL(f, "PreWebhookUrl"); err != nil {
			return err
		}
	}
	if f.Has("PostWebhookUrl") {
		if *post, err = readConfigURL(f, "PostWebhookUrl"); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) handleAccountWebhooks(w http.ResponseWriter, r *http.Request) *core.Error {
	if r.Method == http.MethodPost {
		f, err := core.Form(r)
		if err != nil {
			return err
		}
		next := s.account
		if err := readConfig(f, &next.Method, &next.Filters, &next.PreWebhookURL, &next.PostWebhookURL); err != nil {
			return err
		}
		switch t := f.Get("Target"); t {
		case "":
		case "webhook", "flex":
			next.Target = t
		default:
			return core.BadParam("Target", "must be webhook or flex")
		}
		s.account = next
	}
	a := s.account
	core.WriteJSON(w, http.StatusOK, map[string]any{
		"account_sid":      s.env.AccountSID,
		"method":           a.Method,
		"filters":          a.Filters,
		"pre_webhook_url":  nullable(a.PreWebhookURL),
		"post_webhook_url": nullable(a.PostWebhookURL),
		"target":           a.Target,
		"url":              apiBase + "/v1/Configuration/Webhooks",
	})
	return nil
}

func (s *Store) handleServiceWebhooks(w http.ResponseWriter, r *http.Request) *core.Error {
	svc, err := s.serviceOf(r)
	if err != nil {
		return err
	}
	sv := s.services[svc]
	if r.Method == http.MethodPost {
		f, err := core.Form(r)
		if err != nil {
			return err
		}
		next := sv.Webhooks
		if err := readConfig(f, &next.Method, &next.Filters, &next.PreWebhookURL, &next.PostWebhookURL); err != nil {
			return err
		}
		sv.Webhooks = next
	}
	c := sv.Webhooks
	core.WriteJSON(w, http.StatusOK, map[string]any{
		"account_sid":      s.env.AccountSID,
		"chat_service_sid": svc,
		"pre_webhook_url":  nullable(c.PreWebhookURL),
		"post_webhook_url": nullable(c.PostWebhookURL),
		"filters":          c.Filters,
		"method":           c.Method,
		"url":              apiBase + "/v1/Services/" + svc + "/Configuration/Webhooks",
	})
	return nil
}
