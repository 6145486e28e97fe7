package webhooks

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/flexhooks/flexhooks"
)

// Limits of the hand-written fields (ServiceNow's short description is 160
// characters).
const (
	maxShortDescription = 160
	maxStateReason      = 80
	maxCustomerField    = 120
	defaultPageSize     = 20
	maxPageSize         = 50
)

// InteractionRequest names a record: GET /interactions/{conversationSid}.
type InteractionRequest struct {
	ConversationSid string `json:"conversationSid"`
}

// Validate checks the SID.
func (r *InteractionRequest) Validate() error {
	f := fieldErrors{}
	f.sid("conversationSid", r.ConversationSid, "CH")
	return f.err()
}

// PatchInteractionRequest is PATCH /interactions/{conversationSid}.
type PatchInteractionRequest struct {
	ConversationSid  string  `json:"conversationSid"`
	ShortDescription *string `json:"shortDescription"`
	StateReason      *string `json:"stateReason"`
}

// Validate checks the fields: at least one to set, each within its limit.
func (r *PatchInteractionRequest) Validate() error {
	f := fieldErrors{}
	f.sid("conversationSid", r.ConversationSid, "CH")
	if r.ShortDescription == nil && r.StateReason == nil {
		f["shortDescription"] = "give shortDescription or stateReason"
	}
	f.text("shortDescription", r.ShortDescription, maxShortDescription)
	f.text("stateReason", r.StateReason, maxStateReason)
	return f.err()
}

// CloseInteractionRequest is POST /interactions/{conversationSid}/close; a
// short description given here is set as the record closes.
type CloseInteractionRequest struct {
	ConversationSid  string  `json:"conversationSid"`
	ShortDescription *string `json:"shortDescription"`
}

// Validate checks the fields.
func (r *CloseInteractionRequest) Validate() error {
	f := fieldErrors{}
	f.sid("conversationSid", r.ConversationSid, "CH")
	f.text("shortDescription", r.ShortDescription, maxShortDescription)
	return f.err()
}

// text checks an optional free-text field: not blank when given, within max
// characters.
func (f fieldErrors) text(name string, v *string, limit int) {
	switch {
	case v == nil:
	case strings.TrimSpace(*v) == "":
		f[name] = "must not be blank"
	case utf8.RuneCountInString(*v) > limit:
		f[name] = "must be at most " + strconv.Itoa(limit) + " characters"
	}
}

// Interaction returns a record. Agents read the records they are or were
// assigned to; supervisors read all.
func (in *Interactions) Interaction(ctx context.Context, req InteractionRequest) (*Interaction, error) {
	rec, _, err := in.readable(ctx, req.ConversationSid)
	if err != nil {
		return nil, err
	}
	v := rec.View()
	return &v, nil
}

// readable loads a record the caller may read; 404 when there is none, 403
// when it is another agent's.
func (in *Interactions) readable(ctx context.Context, csid string) (*InteractionRecord, string, error) {
	rec, rev, err := in.load(ctx, csid)
	if isNotFound(err) {
		return nil, "", &flexhooks.Error{Code: flexhooks.ENOTFOUND, Message: "no interaction record for conversation " + csid, Err: err}
	}
	if err != nil {
		return nil, "", err
	}
	c, ok := flexhooks.CallerFrom(ctx)
	if !ok || c.IsSupervisor() || rec.AssignedTo(c.WorkerSid) {
		return rec, rev, nil
	}
	if rec, rev, err = in.catchUpAccepts(ctx, csid, rec, rev); err != nil {
		return nil, "", err
	}
	if !rec.AssignedTo(c.WorkerSid) {
		return nil, "", flexhooks.Errorf(flexhooks.EFORBIDDEN, "interaction %s was never assigned to you", rec.Number)
	}
	return rec, rev, nil
}

// catchUpAccepts asks TaskRouter about the record's live tasks whose
// accept it does not show, records what TaskRouter says and returns the
// record read again; as it was when it has no such task. The record may
// have missed the caller's accept (its write failed; the sweep fills it in
// within a minute or so), and the caller must not get 403 on their own
// conversation meanwhile. Only on the way to a 403, and only for tasks the
// record already names: an agent's requests cannot make it list tasks.
func (in *Interactions) catchUpAccepts(ctx context.Context, csid string, rec *InteractionRecord, rev string) (*InteractionRecord, string, error) {
	var sids []string
	for _, t := range rec.Tasks {
		if t.EndedAt.IsZero() && t.AcceptedAt.IsZero() {
			sids = append(sids, t.Sid)
		}
	}
	if len(sids) == 0 {
		return rec, rev, nil
	}
	err := in.catchUpTasks(ctx, in.cfg.WorkspaceSid, csid, sids, false, nil)
	switch {
	case errors.Is(err, ErrRepairUnneeded):
		return rec, rev, nil
	case err != nil:
		return nil, "", err
	}
	return in.load(ctx, csid)
}

// changeable loads a record the caller may change: a supervisor's, or an
// agent's who holds a live task on the conversation now, or, when nobody
// does (the conversation is parked or closed), whose task was the last one
// accepted — so that an agent can document the chat they just ended or
// parked. Having been assigned once is enough to read a record, never to
// change or close it while another agent holds the conversation. The
// record names the tasks and their workers (from signed TaskRouter events);
// TaskRouter says which are live.
func (in *Interactions) changeable(ctx context.Context, csid string) (*InteractionRecord, string, error) {
	rec, rev, err := in.readable(ctx, csid)
	if err != nil {
		return nil, "", err
	}
	c, ok := flexhooks.CallerFrom(ctx)
	if !ok || c.IsSupervisor() {
		return rec, rev, nil
	}
	holders, err := in.liveHolders(ctx, rec)
	if err != nil {
		return nil, "", err
	}
	if slices.Contains(holders, c.WorkerSid) || (len(holders) == 0 && lastAgent(rec) == c.WorkerSid) {
		return rec, rev, nil
	}
	return nil, "", flexhooks.Errorf(flexhooks.EFORBIDDEN, "interaction %s is held by another agent; only its current agent or a supervisor may change or close it", rec.Number)
}

// liveHolders asks TaskRouter which of the record's unended tasks are live
// (assigned or wrapping), and returns their workers.
func (in *Interactions) liveHolders(ctx context.Context, rec *InteractionRecord) ([]string, error) {
	var open []RecordTask
	for _, t := range rec.Tasks {
		if t.EndedAt.IsZero() && t.WorkerSid != "" {
			open = append(open, t)
		}
	}
	live := make([]bool, len(open))
	errs := make([]error, len(open))
	fns := make([]func(), len(open))
	for i, rt := range open {
		fns[i] = func() {
			t, err := in.tw.FetchTask(ctx, in.cfg.WorkspaceSid, rt.Sid)
			errs[i] = ignoreNotFound(err)
			live[i] = err == nil && (t.AssignmentStatus == "assigned" || t.AssignmentStatus == "wrapping")
		}
	}
	if len(fns) > 0 {
		parallel(fns...)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var holders []string
	for i, t := range open {
		if live[i] {
			holders = append(holders, t.WorkerSid)
		}
	}
	return holders, nil
}

// lastAgent is the worker of the task most recently accepted.
func lastAgent(rec *InteractionRecord) string {
	var last RecordTask
	for _, t := range rec.Tasks {
		if !t.AcceptedAt.IsZero() && !t.AcceptedAt.Before(last.AcceptedAt) {
			last = t
		}
	}
	return last.WorkerSid
}

// PatchInteraction sets the short description and/or the state reason.
func (in *Interactions) PatchInteraction(ctx context.Context, req PatchInteractionRequest) (*Interaction, error) {
	rec, rev, err := in.changeable(ctx, req.ConversationSid)
	if err != nil {
		return nil, err
	}
	rec, err = in.apply(ctx, req.ConversationSid, rec, rev, nil, func(r *InteractionRecord) (bool, error) {
		changed := false
		if d := req.ShortDescription; d != nil && r.ShortDescription != strings.TrimSpace(*d) {
			r.ShortDescription, changed = strings.TrimSpace(*d), true
		}
		if s := req.StateReason; s != nil {
			note := r.noteReason(strings.TrimSpace(*s))
			if r.ReasonNote == nil || *r.ReasonNote != *note {
				r.ReasonNote, changed = note, true
			}
		}
		return changed, nil
	})
	if err != nil {
		return nil, err
	}
	v := rec.View()
	return &v, nil
}

// CloseInteraction closes the record Closed Complete and the conversation:
// the interaction channel is closed with routing closed, which completes
// every live task and closes the conversation. The short description is
// required (422 naming it when the record has none and the request gives
// none). Closing a record already Closed Complete answers it as it is; a
// Closed Abandoned one is 409.
//
// Round trips: the record (checks) → the channel close → the record update
// (If-Match on the revision read first).
func (in *Interactions) CloseInteraction(ctx context.Context, req CloseInteractionRequest) (*Interaction, error) {
	rec, rev, err := in.changeable(ctx, req.ConversationSid)
	if err != nil {
		return nil, err
	}
	desc := rec.ShortDescription
	if req.ShortDescription != nil {
		desc = strings.TrimSpace(*req.ShortDescription)
	}
	if desc == "" {
		return nil, &flexhooks.Error{Code: flexhooks.EUNPROCESSABLE,
			Message: "interaction " + rec.Number + " has no short description: give shortDescription to close it",
			Fields:  map[string]string{"shortDescription": "required to close an interaction"}}
	}
	switch v := rec.View(); v.State {
	case StateClosedAbandoned:
		return nil, flexhooks.Errorf(flexhooks.ECONFLICT, "interaction %s is already %s", rec.Number, v.State)
	case StateClosedComplete:
		if desc == rec.ShortDescription {
			return &v, nil
		}
	default:
		if rec.InteractionSid == "" || rec.ChannelSid == "" {
			return nil, flexhooks.Errorf(flexhooks.EUNPROCESSABLE, "interaction %s has no Flex interaction channel to close", rec.Number)
		}
		err := in.tw.CloseInteractionChannel(ctx, rec.InteractionSid, rec.ChannelSid)
		if err != nil && !isConflict(err) { // 409: the channel is closed already
			return nil, err
		}
	}
	// From the record read above (its revision saves a read; a change
	// meanwhile is a 412, and the loop reads again), or from what the
	// close's own events wrote meanwhile when this replica handled them
	// (afterOwnWrites). The channel is closed now: tried three times, since
	// once its tasks are gone from TaskRouter (five minutes) nothing else
	// may tell the record, if the close's own event hit a gap too. A retry
	// starts from a fresh read: the failed attempt changed its copy in
	// place, and from it the retry would find nothing left to write.
	read := rec
	err = retryFailed(ctx, func() error {
		from, fromRev := read, rev
		read = nil
		var err error
		rec, err = in.applyFrom(ctx, req.ConversationSid, from, fromRev, afterOwnWrites, nil, func(r *InteractionRecord) (bool, error) {
			changed := r.recordCloseKind(closeComplete, in.now().UTC())
			if r.ShortDescription != desc {
				r.ShortDescription, changed = desc, true
			}
			return changed, nil
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	v := rec.View()
	return &v, nil
}

// ProfileRequest names a profile: GET /profiles/{profileId}.
type ProfileRequest struct {
	ProfileID string `json:"profileId"`
}

// Validate checks the ID's shape.
func (r *ProfileRequest) Validate() error {
	f := fieldErrors{}
	f.profileID(r.ProfileID)
	return f.err()
}

func (f fieldErrors) profileID(id string) {
	if !validSID("PF", id) {
		f["profileId"] = "must be a profile ID (PF followed by 32 hex digits)"
	}
}

// PatchProfileRequest links a profile to a known customer.
type PatchProfileRequest struct {
	ProfileID    string  `json:"profileId"`
	CustomerID   *string `json:"customerId"`
	CustomerName *string `json:"customerName"`
}

// Validate checks the fields.
func (r *PatchProfileRequest) Validate() error {
	f := fieldErrors{}
	f.profileID(r.ProfileID)
	if r.CustomerID == nil && r.CustomerName == nil {
		f["customerId"] = "give customerId and/or customerName"
	}
	f.text("customerId", r.CustomerID, maxCustomerField)
	f.text("customerName", r.CustomerName, maxCustomerField)
	return f.err()
}

// GetProfile returns a profile. Any agent may read one: profiles are what
// an agent needs to know who writes.
func (in *Interactions) GetProfile(ctx context.Context, req ProfileRequest) (*Profile, error) {
	p, err := in.fetchProfile(ctx, req.ProfileID)
	if isNotFound(err) {
		return nil, &flexhooks.Error{Code: flexhooks.ENOTFOUND, Message: "profile " + req.ProfileID + " not found", Err: err}
	}
	return p, err
}

// PatchProfile links a profile to a customer: every interaction opened for
// it from now on is opened for that customer (records already opened keep
// who they were opened for). Linking (customerId) takes a supervisor's or
// admin's token or the service's credentials: a link lets agents see one
// profile's sessions from another's. Any agent may set the name.
func (in *Interactions) PatchProfile(ctx context.Context, req PatchProfileRequest) (*Profile, error) {
	linkedBy := "service"
	if c, ok := flexhooks.CallerFrom(ctx); ok {
		if req.CustomerID != nil && !c.IsSupervisor() {
			return nil, flexhooks.Errorf(flexhooks.EFORBIDDEN, "linking profile %s to a customer takes a supervisor or admin token, or the service's credentials", req.ProfileID)
		}
		linkedBy = "supervisor:" + c.WorkerSid
	}
	for attempt := range maxUpdateAttempts {
		p, rev, err := in.loadProfile(ctx, req.ProfileID)
		if isNotFound(err) {
			return nil, &flexhooks.Error{Code: flexhooks.ENOTFOUND, Message: "profile " + req.ProfileID + " not found", Err: err}
		}
		if err != nil {
			return nil, err
		}
		before := *p
		if req.CustomerID != nil {
			p.CustomerID, p.CustomerLinkedBy = strings.TrimSpace(*req.CustomerID), linkedBy
			if p.CustomerID == "" {
				p.CustomerLinkedBy = ""
			}
		}
		if req.CustomerName != nil {
			p.CustomerName = strings.TrimSpace(*req.CustomerName)
		}
		if *p == before {
			return p, nil
		}
		p.UpdatedAt = in.now().UTC()
		_, err = in.tw.UpdateSyncMapItem(ctx, ProfileMapOf(p.ID), p.ID, p, rev)
		if !isConflict(err) {
			return p, err
		}
		backoff(ctx, attempt)
	}
	return nil, flexhooks.Errorf(flexhooks.EUNAVAILABLE, "profile %s: too many concurrent changes, try again", req.ProfileID)
}

// InteractionListRequest lists a profile's interactions, newest first:
// GET /profiles/{profileId}/interactions, or GET /interactions?address=…
// (&channel=…, inferred from the address when absent).
type InteractionListRequest struct {
	ProfileID string `json:"profileId"`
	Address   string `json:"address"`
	Channel   string `json:"channel"`
	PageSize  int    `json:"pageSize"`
	PageToken string `json:"pageToken"`
}

// Validate checks the fields and resolves the profile of an address.
func (r *InteractionListRequest) Validate() error {
	f := fieldErrors{}
	switch {
	case r.ProfileID != "":
		f.profileID(r.ProfileID)
	case strings.TrimSpace(r.Address) == "":
		f["address"] = "required (the customer's phone number, whatsapp:… address or chat identity)"
	default:
		if r.Channel == "" {
			r.Channel = channelOf(r.Address)
		}
		r.ProfileID = ProfileID(r.Channel, r.Address)
	}
	if r.PageSize < 0 || r.PageSize > maxPageSize {
		f["pageSize"] = "must be between 1 and " + strconv.Itoa(maxPageSize)
	}
	if r.PageToken != "" {
		if k, err := decodePageToken(r.PageToken); err != nil || (r.ProfileID != "" && !strings.HasPrefix(k, profileIndexPrefix(r.ProfileID))) {
			f["pageToken"] = "is not a page token of this list"
		}
	}
	return f.err()
}

// channelOf infers an address's channel as Twilio's bindings name them
// ("chat" for a web chat identity: ProfileID knows it as Flex's "web").
func channelOf(address string) string {
	if i := strings.Index(address, ":"); i > 0 {
		switch t := strings.ToLower(address[:i]); t {
		case "whatsapp", "messenger":
			return t
		}
	}
	if strings.HasPrefix(address, "+") {
		return "sms"
	}
	return "chat"
}

// InteractionList is a page of interactions.
type InteractionList struct {
	ProfileID     string        `json:"profileId"`
	Interactions  []Interaction `json:"interactions"`
	NextPageToken string        `json:"nextPageToken,omitempty"`
}

// ListInteractions lists a profile's interactions, newest first. Agents see
// the ones they are or were assigned to (a page may then hold fewer than
// pageSize); supervisors see all.
//
// Round trips: the index page, then the page's records side by side.
func (in *Interactions) ListInteractions(ctx context.Context, req InteractionListRequest) (*InteractionList, error) {
	size := cmpOr(req.PageSize, defaultPageSize)
	from := profileIndexPrefix(req.ProfileID)
	if req.PageToken != "" {
		from, _ = decodePageToken(req.PageToken)
	}
	items, err := in.listProfileIndex(ctx, req.ProfileID, from, size+1)
	if err != nil {
		return nil, err
	}
	out := &InteractionList{ProfileID: req.ProfileID, Interactions: []Interaction{}}
	var csids, keys []string
	for i, it := range items {
		if !strings.HasPrefix(it.Key, profileIndexPrefix(req.ProfileID)) {
			break
		}
		if i == size {
			out.NextPageToken = encodePageToken(items[i-1].Key)
			break
		}
		var e profileIndexEntry
		if json.Unmarshal(it.Data, &e) == nil && e.ConversationSid != "" {
			csids, keys = append(csids, e.ConversationSid), append(keys, it.Key)
		}
	}
	recs := make([]*InteractionRecord, len(csids))
	errs := make([]error, len(csids))
	fns := make([]func(), len(csids))
	for i, csid := range csids {
		fns[i] = func() { recs[i], _, errs[i] = in.load(ctx, csid) }
	}
	if len(fns) > 0 {
		parallel(fns...)
	}
	caller, hasCaller := flexhooks.CallerFrom(ctx)
	for i, rec := range recs {
		switch {
		case isNotFound(errs[i]):
			continue // indexed, but its record was never written: nothing to show
		case errs[i] != nil:
			return nil, errs[i]
		case rec.IndexKey != "" && rec.IndexKey != keys[i]:
			continue // a losing create's entry: the record is listed under its own
		case hasCaller && !caller.IsSupervisor() && !rec.AssignedTo(caller.WorkerSid):
			continue
		}
		out.Interactions = append(out.Interactions, rec.View())
	}
	return out, nil
}

func encodePageToken(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }

func decodePageToken(tok string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	return string(b), err
}

func cmpOr(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}
