package conversations

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

// The helpers below hold what the REST handlers for a conversation's
// sub-resources (messages, participants, webhooks) share, so that the rules
// Twilio applies to all of them (how {ItemSid} resolves, how a list or a
// fetch is rendered, what an update checks before changing anything) are
// written once.

// sidded is a conversation sub-resource, as {ItemSid} names it.
type sidded interface{ sid() string }

func (m *Message) sid() string       { return m.Sid }
func (p *Participant) sid() string   { return p.Sid }
func (w *ScopedWebhook) sid() string { return w.Sid }

// bySid returns the item of items with that SID, nil if none.
func bySid[T sidded](items []T, id string) T {
	for _, it := range items {
		if it.sid() == id {
			return it
		}
	}
	var none T
	return none
}

// itemOf resolves {Sid} to a conversation and {ItemSid} to one of its
// sub-resources with find, or answers Twilio's 404 for kind (Messages,
// Participants, Webhooks).
func itemOf[T any](s *Store, r *http.Request, kind string, find func(c *Conversation, id string) *T) (*Conversation, *T, *core.Error) {
	c, err := s.conversationOf(r)
	if err != nil {
		return nil, nil, err
	}
	id := chi.URLParam(r, "ItemSid")
	if it := find(c, id); it != nil {
		return c, it, nil
	}
	return nil, nil, notFound(kind, id)
}

// conversationForm resolves {Sid} to a conversation and reads the form, as
// the create and list handlers of its sub-resources start.
func (s *Store) conversationForm(r *http.Request) (*Conversation, core.Params, *core.Error) {
	c, err := s.conversationOf(r)
	if err != nil {
		return nil, core.Params{}, err
	}
	f, err := core.Form(r)
	if err != nil {
		return nil, f, err
	}
	return c, f, nil
}

// writeItems writes items of conversation c, rendered by toJSON, as a Twilio
// list page under key.
func writeItems[T any](w http.ResponseWriter, r *http.Request, key string, c *Conversation, items []T, toJSON func(*Conversation, T) map[string]any) *core.Error {
	out := make([]map[string]any, 0, len(items))
	for _, it := range items {
		out = append(out, toJSON(c, it))
	}
	core.WriteList(w, r, out, key)
	return nil
}

// listItems is a list handler: resolve the conversation, then write the
// sub-resources that items picks from it.
func listItems[T any](s *Store, w http.ResponseWriter, r *http.Request, key string, items func(*Conversation) []T, toJSON func(*Conversation, T) map[string]any) *core.Error {
	c, err := s.conversationOf(r)
	if err != nil {
		return err
	}
	return writeItems(w, r, key, c, items(c), toJSON)
}

// fetchItem is a fetch handler: resolve the sub-resource with of, then write
// it rendered by toJSON.
func fetchItem[T any](w http.ResponseWriter, r *http.Request, of func(*http.Request) (*Conversation, T, *core.Error), toJSON func(*Conversation, T) map[string]any) *core.Error {
	c, it, err := of(r)
	if err != nil {
		return err
	}
	core.WriteJSON(w, http.StatusOK, toJSON(c, it))
	return nil
}

// updateForm is how an update of a conversation, a message or a participant
// starts: read the form, refuse the change on a closed conversation (50377),
// and validate Attributes, so that a refusal leaves no trace.
func updateForm(r *http.Request, c *Conversation) (core.Params, *core.Error) {
	f, err := core.Form(r)
	if err != nil {
		return f, err
	}
	if c.State == "closed" {
		return f, errClosed(c.Sid)
	}
	if err := validAttributes("Attributes", f.Get("Attributes")); err != nil {
		return f, err
	}
	return f, nil
}

// parseDates reads the optional DateCreated and DateUpdated parameters that
// creates and updates accept.
func parseDates(f core.Params) (created, updated time.Time, err *core.Error) {
	if created, err = parseDate(f, "DateCreated"); err != nil {
		return
	}
	updated, err = parseDate(f, "DateUpdated")
	return
}

// setAttributes applies an Attributes parameter, if sent, to *attrs; an
// empty one resets it to "{}".
func setAttributes(f core.Params, attrs *string) {
	if f.Has("Attributes") {
		*attrs = f.Get("Attributes")
		if *attrs == "" {
			*attrs = "{}"
		}
	}
}

// stamp sets an updated item's dates: DateCreated if given, DateUpdated the
// given one or now.
func (s *Store) stamp(created, updated *time.Time, dc, du time.Time) {
	if !dc.IsZero() {
		*created = dc
	}
	*updated = s.env.Now()
	if !du.IsZero() {
		*updated = du
	}
}
