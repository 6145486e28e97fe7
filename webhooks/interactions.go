package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/flexhooks/flexhooks"
)

// Sync maps of the interaction records. Each per-conversation kind is
// spread over many Maps named "{kind}_{xx}" (interaction_storage.go:
// RecordMap, ProfileMapOf, ProfileIndexMapOf, ContactMapOf); the names
// below are the kinds, and the single Maps of earlier versions, still read
// as a fallback while they hold items.
const (
	// InteractionRecordMap holds one record per conversation, keyed by
	// conversation SID (data: InteractionRecord).
	InteractionRecordMap = "flexhooks_interactions"
	// InteractionCounterMap holds the number counter, item
	// InteractionCounterKey ({"last": n}), advanced with If-Match a block
	// of numbers at a time (interaction_numbers.go).
	InteractionCounterMap = "flexhooks_counters"
	InteractionCounterKey = "interactionNumber"
	// ProfileMap holds the channel user profiles, keyed by profile ID.
	ProfileMap = "flexhooks_profiles"
	// ProfileInteractionsMap indexes interactions by profile, newest first:
	// key "{profileId}_{inverted opening time}_{conversationSid}".
	ProfileInteractionsMap = "flexhooks_profile_interactions"
	// ContactMap finds a contact's conversation: key task SID, data
	// {"conversationSid": …}. Persistent chat starts from a contact ID.
	ContactMap = "flexhooks_contacts"
)

// InteractionTwilio is every Twilio operation interaction records use.
type InteractionTwilio interface {
	FetchSyncMapItem(ctx context.Context, mapName, key string) (SyncItem, error)
	// CreateSyncMapItem creates the item (and its map); ECONFLICT (54208)
	// when the key exists.
	CreateSyncMapItem(ctx context.Context, mapName, key string, data any, ttl time.Duration) error
	// CreateSyncMapItemRevision creates like CreateSyncMapItem (no TTL)
	// and returns the item's revision.
	CreateSyncMapItemRevision(ctx context.Context, mapName, key string, data any) (string, error)
	// UpdateSyncMapItem replaces the item's data if its revision is still
	// revision: ECONFLICT (412, 54205) when someone changed it since. It
	// returns the new revision.
	UpdateSyncMapItem(ctx context.Context, mapName, key string, data any, revision string) (string, error)
	// DeleteSyncMapItem is ENOTFOUND when the item or the map does not exist.
	DeleteSyncMapItem(ctx context.Context, mapName, key string) error
	// ListSyncMapItemsAfter lists up to limit items whose keys sort after
	// from, in key order; none (no error) when the map does not exist.
	ListSyncMapItemsAfter(ctx context.Context, mapName, from string, limit int) ([]SyncItem, error)
	FetchConversation(ctx context.Context, conversationSid string) (Conversation, error)
	// FetchTask reads a TaskRouter task: how a lost end is caught up.
	FetchTask(ctx context.Context, workspaceSid, taskSid string) (Task, error)
	// FetchTaskSummary reads a task with its dates and attributes.
	FetchTaskSummary(ctx context.Context, workspaceSid, taskSid string) (TaskSummary, error)
	// ListTasks lists the tasks TaskRouter holds: the records' sweep
	// (interaction_sweep.go) lists them all, oldest first.
	ListTasks(ctx context.Context, workspaceSid string, o TaskListOptions) ([]TaskSummary, error)
	// ListTaskReservations lists a task's reservations: who accepted it.
	ListTaskReservations(ctx context.Context, workspaceSid, taskSid string) ([]TaskReservation, error)
	// CloseInteractionChannel closes the channel with routing closed: every
	// live task completes and the conversation closes.
	CloseInteractionChannel(ctx context.Context, interactionSid, channelSid string) error
}

// GapFunc is told of each write the service gave up on because Twilio
// failed, by capability ("interaction_records", "persistent_chat"): what
// an operator alerts on, since such gaps are logged, never returned.
type GapFunc func(capability string)

// InteractionsConfig configures interaction records.
type InteractionsConfig struct {
	// Gap, when set, counts the records that could not be written.
	Gap GapFunc
	// WorkspaceSid is the Flex TaskRouter workspace, where an agent's task
	// is looked up before they may change or close a record.
	WorkspaceSid string
	// NumberPrefix starts every number ("INT"); NumberDigits pads it (7).
	NumberPrefix string
	NumberDigits int
}

// Interactions keeps an interaction record per conversation in Sync, from
// the TaskRouter and Conversations events the service receives, and serves
// the records, the profiles and the close API.
//
// Record upkeep never fails what it observes: an event handler logs a
// record it could not write ("interaction record gap") and answers as if it
// had, and the next event of the conversation brings the record up to date
// (every TaskRouter event carries the task's creation time and attributes,
// so any one of them can (re)build the task's facts).
type Interactions struct {
	tw  InteractionTwilio
	cfg InteractionsConfig
	log *slog.Logger
	now func() time.Time
	// opened runs after this replica opens a record (OnOpened).
	opened func(ctx context.Context, rec *InteractionRecord, ev TaskRouterEvent)

	records *recordCache
	numbers numberBlock
	legacy  legacyMaps
	// stateEventAt is when this replica last received a Conversations
	// onConversationStateUpdated (Unix nanoseconds; 0: never): proof that
	// the state webhook is configured (stateWebhookLive).
	stateEventAt atomic.Int64
	// profileMix decides whether a profile is created before it is read.
	profileMix profileMix
}

// stateWebhookFresh is how long one onConversationStateUpdated received
// counts as proof that the next close's will arrive too.
const stateWebhookFresh = 10 * time.Minute

// stateWebhookLive reports whether the Conversations state webhook is known
// to reach this replica: then a task's end need not ask Conversations
// whether the conversation closed (one call per task end), since the close's
// own event records it. Until this replica has received one (a fresh start,
// or the webhook not configured), it asks. A close event lost all the same
// is caught up by the records' sweep (the conversation's tasks all ended, it
// asks Conversations then), as a lost close was before.
func (in *Interactions) stateWebhookLive() bool {
	at := in.stateEventAt.Load()
	return at != 0 && in.now().Sub(time.Unix(0, at)) < stateWebhookFresh
}

// NewInteractions returns the interaction records over tw. log may be nil.
func NewInteractions(tw InteractionTwilio, cfg InteractionsConfig, log *slog.Logger) *Interactions {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.NumberPrefix == "" {
		cfg.NumberPrefix = "INT"
	}
	if cfg.NumberDigits <= 0 {
		cfg.NumberDigits = 7
	}
	return &Interactions{tw: tw, cfg: cfg, log: log, now: time.Now, records: newRecordCache()}
}

// InteractionEventTypes are the TaskRouter events records use.
var InteractionEventTypes = []string{"task.created", "reservation.accepted", "task.completed", "task.canceled", "task.deleted"}

// RegisterEvents registers the record's TaskRouter event handler.
func (in *Interactions) RegisterEvents(events *TaskEvents) {
	for _, t := range InteractionEventTypes {
		events.On(t, in.OnTaskEvent)
	}
}

// openFacts is what a new record is opened with.
type openFacts struct {
	InteractionSid  string
	ChannelSid      string
	Channel         string
	CustomerAddress string
	CustomerName    string
	// createFirst: the event is most likely the conversation's first (an
	// inbound task's creation), so the record is created without reading
	// first; a record already there (54208) is read and merged into.
	createFirst bool
}

// OnTaskEvent records what a TaskRouter event says about a conversation's
// task. It never returns an error (see Interactions).
//
// Round trips: the record fetch, then its conditional update: two. A
// conversation's first event opens the record instead: the number, the
// profile and the profile index side by side, then the create: three.
// An end event also fetches the conversation (alongside the record) while
// this replica has not seen the state webhook arrive (stateWebhookLive): a
// closed conversation closes the record even when its state webhook is not
// configured. A task new to the record while the record shows another one
// still live also asks TaskRouter about that one (catchUp).
func (in *Interactions) OnTaskEvent(ctx context.Context, ev TaskRouterEvent) error {
	csid, open, f, ok := taskEventFacts(ev)
	if !ok {
		return nil
	}
	ended := !f.EndedAt.IsZero()
	var (
		rec                *InteractionRecord
		conv               Conversation
		err, convErr       error
		indexErr, catchErr error
		createdErr         error
		newTask            bool
		convDone           chan struct{}
	)
	fns := []func(){}
	switch {
	case ev.EventType == "task.created":
		// The contact index entry is written alongside: a task is
		// created once, and a replay's 54208 is harmless.
		fns = append(fns, func() { indexErr = in.indexContact(ctx, f.Sid, csid) })
		open.createFirst = f.Reason == ContactInbound
	case ended && !in.stateWebhookLive():
		convDone = make(chan struct{})
		fns = append(fns, func() { defer close(convDone); conv, convErr = in.tw.FetchConversation(ctx, csid) })
	}
	recordTask := func(r *InteractionRecord) bool {
		newTask = !slices.ContainsFunc(r.Tasks, func(t RecordTask) bool { return t.Sid == f.Sid })
		changed := r.recordTask(f)
		if convDone != nil {
			// One write for both facts: the end, and the close it shows.
			<-convDone
			if convErr == nil && conv.State == "closed" || isNotFound(convErr) {
				changed = r.recordClosed(f.EndedAt) || changed
			}
		}
		return changed
	}
	fns = append(fns, func() { rec, err = in.update(ctx, csid, &open, recordTask) })
	parallel(fns...)
	if err == nil && newTask {
		var more []func()
		if ev.EventType != "task.created" {
			more = append(more, func() { indexErr = in.indexContact(ctx, f.Sid, csid) }) // catching up on a lost task.created
		}
		if stale := liveTasksBut(rec, f.Sid); len(stale) > 0 {
			more = append(more, func() { catchErr = in.catchUp(ctx, ev.WorkspaceSid, csid, stale, olderThan(rec, f.Sid)) })
		}
		if f.CreatedAt.IsZero() {
			// The task's own creation event was lost, and this one does
			// not carry TaskDateCreated (not in TaskRouter's event
			// reference: some deliveries leave it out): TaskRouter says.
			more = append(more, func() { createdErr = in.catchUpCreation(ctx, ev.WorkspaceSid, csid, f.Sid) })
		}
		if len(more) > 0 {
			parallel(more...)
		}
	}
	opened := err == nil && rec != nil && rec.opened
	if err != nil && ended {
		in.rememberEnd(ctx, csid, f)
	}
	in.gap(ctx, csid, ev.EventType, errors.Join(err, indexErr, catchErr, createdErr))
	if opened && !ended && in.opened != nil {
		in.opened(ctx, rec, ev)
	}
	return nil
}

// liveTasksBut lists the record's tasks other than sid that it shows live.
func liveTasksBut(rec *InteractionRecord, sid string) []string {
	if rec == nil {
		return nil
	}
	var out []string
	for _, t := range rec.Tasks {
		if t.Sid != sid && t.EndedAt.IsZero() {
			out = append(out, t.Sid)
		}
	}
	return out
}

// catchUp asks TaskRouter about tasks the record shows live when a new
// task of the conversation appears, and records the ends it missed. An
// end whose event was lost (the record could not be written when it came:
// the handler never fails, so TaskRouter does not send it again) would
// otherwise stay lost, since no later event of the conversation speaks of
// that task: a park whose task.completed was lost would leave the record
// in Work in Progress, and the agent's time out of the duration, for good.
// In the usual case the tasks are live indeed (a warm transfer) or their
// end is on its way (a cold transfer), and nothing is written. TaskRouter
// gives the end to the second (date_updated); when the end's own event
// arrives later, the earlier of the two stands. TaskRouter deletes an
// ended task some minutes after its end (docs/twilio-behaviour.md): a task
// the record shows live but TaskRouter no longer has has ended, at the
// latest when a newer task began: bounds holds that time for each task
// created before the new one, and such a task is recorded as ended then
// (status deleted), so that the record does not stay in Work in Progress.
func (in *Interactions) catchUp(ctx context.Context, workspaceSid, csid string, sids []string, bounds map[string]time.Time) error {
	if !validSID("WS", workspaceSid) {
		return nil
	}
	facts := make([]*taskFacts, len(sids))
	errs := make([]error, len(sids))
	fns := make([]func(), len(sids))
	for i, sid := range sids {
		fns[i] = func() {
			t, err := in.tw.FetchTask(ctx, workspaceSid, sid)
			switch {
			case isNotFound(err):
				if bound, ok := bounds[sid]; ok {
					facts[i] = &taskFacts{Sid: sid, EndedAt: bound.UTC(), EndStatus: "deleted"}
				}
			case err != nil:
				errs[i] = err
			case (t.AssignmentStatus == "completed" || t.AssignmentStatus == "canceled") && !t.DateUpdated.IsZero():
				facts[i] = &taskFacts{Sid: sid, EndedAt: t.DateUpdated.UTC(), EndStatus: t.AssignmentStatus}
			}
		}
	}
	parallel(fns...)
	var ends []taskFacts
	for _, f := range facts {
		if f != nil {
			ends = append(ends, *f)
		}
	}
	if len(ends) > 0 {
		_, err := in.update(ctx, csid, nil, func(r *InteractionRecord) bool {
			changed := false
			for _, f := range ends {
				changed = r.recordTask(f) || changed
			}
			return changed
		})
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// catchUpCreation records a task's creation as TaskRouter gives it, for a
// task first recorded from an event that did not say when it was created.
func (in *Interactions) catchUpCreation(ctx context.Context, workspaceSid, csid, taskSid string) error {
	if !validSID("WS", workspaceSid) {
		return nil
	}
	t, err := in.tw.FetchTaskSummary(ctx, workspaceSid, taskSid)
	if err != nil || t.DateCreated.IsZero() {
		return ignoreNotFound(err)
	}
	_, err = in.update(ctx, csid, nil, func(r *InteractionRecord) bool {
		return r.recordTask(taskFacts{Sid: taskSid, CreatedAt: t.DateCreated})
	})
	return err
}

// OnConversationEvent records what a Conversations post-event webhook says:
// the conversation closed, or an agent's first reply (onMessageAdded). It
// never returns an error.
func (in *Interactions) OnConversationEvent(ctx context.Context, ev ConversationStateEvent) {
	if !validSID("CH", ev.ConversationSid) {
		return
	}
	var err error
	switch ev.EventType {
	case "onConversationStateUpdated":
		in.stateEventAt.Store(in.now().UnixNano())
		if ev.StateTo != "closed" {
			return
		}
		at := parseTwilioTime(ev.StateUpdated, ev.DateUpdated)
		if at.IsZero() {
			at = in.now()
		}
		_, err = in.update(ctx, ev.ConversationSid, nil, func(r *InteractionRecord) bool { return r.recordClosed(at) })
	case "onMessageAdded":
		if ev.Author == "" || ev.Author == "system" || strings.Contains(ev.Attributes, messageMarker) {
			return // the service's own notices are not a reply
		}
		if channelOf(ev.Author) != "chat" {
			// A phone number or a whatsapp:/messenger: address is a
			// customer's binding, never an agent's identity: no need to
			// read the record to know it is not a reply.
			return
		}
		at := parseTwilioTime(ev.DateCreated)
		if at.IsZero() {
			at = in.now()
		}
		_, err = in.update(ctx, ev.ConversationSid, nil, func(r *InteractionRecord) bool {
			if r.CustomerAddress == "" || strings.EqualFold(r.CustomerAddress, ev.Author) {
				return false // the customer wrote (or who the customer is, is unknown yet)
			}
			return r.recordFirstReply(at, ev.Author)
		})
	default:
		return
	}
	if isNotFound(err) {
		return // no task yet: not an interaction (or not one to record)
	}
	in.gap(ctx, ev.ConversationSid, ev.EventType, err)
}

// Abandoned records that the inactivity timeout is closing the
// conversation: once Twilio's close is seen the record is Closed Abandoned.
// The kind is recorded before the close (alongside the notice, off the
// close's critical path); a close that then fails leaves the record open,
// since only Twilio's close closes it. Never fails.
func (in *Interactions) Abandoned(ctx context.Context, conversationSid string) {
	_, err := in.update(ctx, conversationSid, nil, func(r *InteractionRecord) bool {
		return r.recordCloseKind(closeAbandoned, time.Time{})
	})
	if isNotFound(err) {
		return
	}
	in.gap(ctx, conversationSid, "inactivity close", err)
}

// CloseUnseen reports whether the conversation has a record that does not
// show it closed (InactivityRecords).
func (in *Interactions) CloseUnseen(ctx context.Context, conversationSid string) (bool, error) {
	rec, _, err := in.load(ctx, conversationSid)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return rec.ClosedAt.IsZero(), nil
}

// RecordClose records a close the inactivity sweep found done whose event
// the record missed (InactivityRecords): at is a bound, kept only while
// the record knows no close time, and abandoned marks the timeout's close.
func (in *Interactions) RecordClose(ctx context.Context, conversationSid string, at time.Time, abandoned bool) error {
	_, err := in.update(ctx, conversationSid, nil, func(r *InteractionRecord) bool {
		changed := abandoned && r.recordCloseKind(closeAbandoned, time.Time{})
		return r.ClosedAt.IsZero() && r.recordClosed(at) || changed
	})
	if isNotFound(err) {
		return nil
	}
	return err
}

// OnOpened registers fn to run when this replica opens a record (a new
// conversation's first task event), after the record is stored: how
// persistent chat links a returning customer's new conversation before an
// agent accepts it. Register before serving.
func (in *Interactions) OnOpened(fn func(ctx context.Context, rec *InteractionRecord, ev TaskRouterEvent)) {
	in.opened = fn
}

// contactEntry is an item of ContactMap.
type contactEntry struct {
	ConversationSid string `json:"conversationSid"`
}

// indexContact records which conversation a task (a contact) belongs to.
func (in *Interactions) indexContact(ctx context.Context, taskSid, csid string) error {
	err := in.tw.CreateSyncMapItem(ctx, ContactMapOf(taskSid), taskSid, contactEntry{ConversationSid: csid}, 0)
	if isConflict(err) {
		return nil
	}
	return err
}

// gap logs a record that could not be written.
func (in *Interactions) gap(ctx context.Context, csid, event string, err error) {
	if err == nil {
		return
	}
	in.log.WarnContext(ctx, "interaction record gap: the next event of the conversation catches up",
		"conversationSid", csid, "event", event, "err", err)
	if in.cfg.Gap != nil {
		in.cfg.Gap("interaction_records")
	}
	flexhooks.LogAttrs(ctx, slog.String("interactionRecord", "gap"))
}

// maxUpdateAttempts bounds the conditional-update loop; each lost race
// means another writer's facts went in, so a handful is plenty.
const maxUpdateAttempts = 8

// update applies mutate to the conversation's record under If-Match and
// returns the record as stored. When there is no record yet, open (when
// not nil) opens one; else it is ENOTFOUND. mutate reports whether it
// changed anything: nothing changed, nothing is written. mutate records
// facts: applied to a copy that knows less than Sync's, it changes nothing
// only if it would change nothing in Sync's either (see recordCache).
func (in *Interactions) update(ctx context.Context, csid string, open *openFacts, mutate func(*InteractionRecord) bool) (*InteractionRecord, error) {
	return in.apply(ctx, csid, nil, "", open, func(r *InteractionRecord) (bool, error) { return mutate(r), nil })
}

// errNotRead stands for a record not read because it is created first.
var errNotRead = &flexhooks.Error{Code: flexhooks.ENOTFOUND, Message: "record not read: created first"}

// apply is update's loop for a change that may refuse (its error is
// returned as it is and nothing is written), starting from rec at revision
// rev when the caller has read them already (nil: read here), which saves
// a round trip; after a lost race the record is read again and the change
// applied anew. Without rec, the cached copy is tried first (tryCached):
// change must then be one that only adds facts, or sets what is set once.
func (in *Interactions) apply(ctx context.Context, csid string, rec *InteractionRecord, rev string, open *openFacts, change func(*InteractionRecord) (bool, error)) (*InteractionRecord, error) {
	return in.applyFrom(ctx, csid, rec, rev, asRead, open, change)
}

// applyStart is where applyFrom starts from when the caller has read the
// record.
type applyStart int

const (
	// asRead: the record and revision the caller read.
	asRead applyStart = iota
	// afterOwnWrites: what this replica wrote since, when it did: a close
	// through the API makes Twilio send the close's events, and those
	// this replica handles write the record while the channel closes; the
	// revision read first would be refused (a 412 and a read more). Only
	// for a change that, on a copy knowing less than the one read, still
	// writes (the close's kind: the copy read shows it unset), since any
	// copy is then a safe start: the write is conditional on its revision.
	afterOwnWrites
)

// applyFrom is apply, from rec at rev or (afterOwnWrites) from the cached
// copy when this replica cached another revision since.
func (in *Interactions) applyFrom(ctx context.Context, csid string, rec *InteractionRecord, rev string, from applyStart, open *openFacts, change func(*InteractionRecord) (bool, error)) (*InteractionRecord, error) {
	defer in.records.lock(csid)()
	if rec != nil && from == afterOwnWrites {
		if c, crev, ok := in.records.get(csid); ok && crev != rev {
			rec, rev = c, crev
		}
	}
	if rec == nil {
		if done, err := in.tryCached(ctx, csid, change); done != nil || err != nil {
			return done, err
		}
	}
	createFirst := open != nil && open.createFirst && !in.legacyHas(ctx, InteractionRecordMap)
	lostKey := "" // the profile index entry of a create that lost the race
	for attempt := range maxUpdateAttempts {
		var err error
		switch {
		case rec != nil:
		case createFirst:
			err, createFirst = errNotRead, false
		default:
			rec, rev, err = in.load(ctx, csid)
		}
		switch {
		case isNotFound(err) && open != nil:
			var key string
			rec, key, err = in.create(ctx, csid, *open, change)
			if isConflict(err) {
				lostKey, rec = key, nil
				continue // another replica opened it first: merge into theirs
			}
			return rec, err
		case err != nil:
			return nil, err
		}
		if lostKey != "" && lostKey != rec.IndexKey {
			in.dropIndexEntry(ctx, csid, lostKey)
			lostKey = ""
		}
		changed, err := change(rec)
		if err != nil {
			return nil, err
		}
		if !changed {
			return rec, nil
		}
		newRev, err := in.tw.UpdateSyncMapItem(ctx, RecordMap(csid), csid, rec, rev)
		if err == nil {
			in.records.put(csid, rec, newRev)
		}
		if !isConflict(err) {
			return rec, err
		}
		rec = nil
		backoff(ctx, attempt)
	}
	return nil, flexhooks.Errorf(flexhooks.EUNAVAILABLE, "interaction record of %s: too many concurrent changes, try again", csid)
}

// tryCached applies change to the cached copy of the record: when it
// changes nothing there, it changes nothing in Sync either, and the copy is
// the answer with no call made; otherwise, while guessing pays
// (recordCache.guess), the change is written with the cached revision. A
// nil record and error: nothing settled, read and write as usual.
func (in *Interactions) tryCached(ctx context.Context, csid string, change func(*InteractionRecord) (bool, error)) (*InteractionRecord, error) {
	c, rev, ok := in.records.get(csid)
	if !ok {
		return nil, nil
	}
	changed, err := change(c)
	switch {
	case err != nil:
		return nil, nil // refused on the copy: let the stored record decide
	case !changed:
		return c, nil
	case !in.records.guess():
		return nil, nil
	}
	newRev, err := in.tw.UpdateSyncMapItem(ctx, RecordMap(csid), csid, c, rev)
	if err == nil || isConflict(err) {
		in.records.guessed(err == nil)
	}
	switch {
	case err == nil:
		in.records.put(csid, c, newRev)
		return c, nil
	case isConflict(err), isNotFound(err):
		return nil, nil
	}
	return nil, err
}

// load fetches a record and its revision, and caches them.
func (in *Interactions) load(ctx context.Context, csid string) (*InteractionRecord, string, error) {
	it, err := in.fetchSharded(ctx, InteractionRecordMap, RecordMap(csid), csid)
	if err != nil {
		return nil, "", err
	}
	rec := new(InteractionRecord)
	if err := json.Unmarshal(it.Data, rec); err != nil {
		return nil, "", &flexhooks.Error{Code: flexhooks.EINTERNAL, Message: "interaction record of " + csid + " is not readable", Err: err}
	}
	in.records.put(csid, rec, it.Revision)
	return rec, it.Revision, nil
}

// fetchItem fetches a Sync map item and decodes its data as a T; what
// names the item in the error when its data is not a T.
func fetchItem[T any](ctx context.Context, tw interface {
	FetchSyncMapItem(ctx context.Context, mapName, key string) (SyncItem, error)
}, mapName, key, what string) (*T, string, error) {
	it, err := tw.FetchSyncMapItem(ctx, mapName, key)
	if err != nil {
		return nil, "", err
	}
	v := new(T)
	if err := json.Unmarshal(it.Data, v); err != nil {
		return nil, "", &flexhooks.Error{Code: flexhooks.EINTERNAL, Message: what + " is not readable", Err: err}
	}
	return v, it.Revision, nil
}

// create opens a record: a number, the profile (found or made) and the
// profile index entry side by side, then the record itself. ECONFLICT when
// another writer created the record first (its number is then unused: numbers
// are unique, not gapless). It returns the index entry's key it wrote, so
// that the loser of a race can remove an entry under another key than the
// winner's (see dropIndexEntry).
func (in *Interactions) create(ctx context.Context, csid string, open openFacts, change func(*InteractionRecord) (bool, error)) (*InteractionRecord, string, error) {
	rec := &InteractionRecord{
		ConversationSid: csid, InteractionSid: open.InteractionSid, ChannelSid: open.ChannelSid,
		Channel: open.Channel, CustomerAddress: open.CustomerAddress, Tasks: []RecordTask{},
	}
	if _, err := change(rec); err != nil {
		return nil, "", err
	}
	var (
		number             string
		prof               *Profile
		madeProfile        bool
		numErr, profErr    error
		indexErr           error
		haveProfileAddress = open.CustomerAddress != "" && open.Channel != ""
	)
	fns := []func(){func() { number, numErr = in.allocateNumber(ctx) }}
	if haveProfileAddress {
		// The key carries the opening time as this writer sees it; a
		// concurrent writer that saw another task first writes another key.
		pid := ProfileID(open.Channel, open.CustomerAddress)
		rec.IndexKey = profileIndexKey(pid, rec.OpenedAt(), csid)
		fns = append(fns,
			func() { prof, madeProfile, profErr = in.profile(ctx, open) },
			func() {
				indexErr = in.tw.CreateSyncMapItem(ctx, ProfileIndexMapOf(pid), rec.IndexKey, profileIndexEntry{ConversationSid: csid}, 0)
				if isConflict(indexErr) {
					indexErr = nil
				}
			})
	}
	parallel(fns...)
	if numErr != nil {
		return nil, rec.IndexKey, numErr
	}
	if profErr != nil || indexErr != nil {
		// The record matters more than its profile: open it anyway.
		in.log.WarnContext(ctx, "interaction record: profile not recorded", "conversationSid", csid, "profileErr", profErr, "indexErr", indexErr)
	}
	rec.Number = number
	if prof != nil {
		rec.OpenedFor = ProfileRef{ProfileID: prof.ID, CustomerID: prof.CustomerID, CustomerName: prof.CustomerName, CustomerLinkedBy: prof.CustomerLinkedBy}
	}
	rev, err := in.tw.CreateSyncMapItemRevision(ctx, RecordMap(csid), csid, rec)
	if err != nil {
		return nil, rec.IndexKey, err
	}
	in.records.put(csid, rec, rev)
	rec.opened, rec.firstContact = true, madeProfile
	return rec, rec.IndexKey, nil
}

// dropIndexEntry removes the profile index entry a losing create wrote
// under another key than the record's: left there, it would list the
// interaction twice. Best effort: the listing skips such entries anyway.
func (in *Interactions) dropIndexEntry(ctx context.Context, csid, key string) {
	pid, _, _ := strings.Cut(key, profileIndexSep)
	if err := in.tw.DeleteSyncMapItem(ctx, ProfileIndexMapOf(pid), key); err != nil && !isNotFound(err) {
		in.log.WarnContext(ctx, "interaction record: a stale profile index entry is left", "conversationSid", csid, "key", key, "err", err)
	}
}

// backoff waits a little, more after each lost race, so that writers
// racing for one Sync item spread out.
func backoff(ctx context.Context, attempt int) {
	_ = pause(ctx, time.Duration(rand.Int64N(int64(5*time.Millisecond)<<min(attempt, 4))))
}

// taskEventFacts reads a TaskRouter event of a conversation task.
func taskEventFacts(ev TaskRouterEvent) (csid string, open openFacts, f taskFacts, ok bool) {
	attrs := ev.Attributes()
	csid = stringAttr(attrs, "conversationSid")
	if !validSID("CH", csid) || !validSID("WT", ev.TaskSid) {
		return "", openFacts{}, taskFacts{}, false
	}
	open = openFacts{
		InteractionSid:  stringAttr(attrs, "flexInteractionSid"),
		ChannelSid:      stringAttr(attrs, "flexInteractionChannelSid"),
		Channel:         stringAttr(attrs, "channelType"),
		CustomerAddress: customerIdentity(attrs),
		CustomerName:    stringAttr(attrs, "customerName"),
	}
	at := ev.time()
	f = taskFacts{
		Sid: ev.TaskSid, Reason: contactReason(attrs), CreatedAt: unixTime(ev.TaskDateCreated),
		QueueSid: ev.TaskQueueSid, QueueName: ev.TaskQueueName,
	}
	switch ev.EventType {
	case "task.created":
		if f.CreatedAt.IsZero() {
			f.CreatedAt = at
		}
	case "reservation.accepted":
		f.AcceptedAt, f.WorkerSid, f.WorkerName = at, ev.WorkerSid, ev.WorkerName
	case "task.completed":
		f.EndedAt, f.EndStatus, f.EndReason = at, "completed", ev.TaskCompletedReason
	case "task.canceled":
		f.EndedAt, f.EndStatus, f.EndReason = at, "canceled", ev.TaskCanceledReason
	case "task.deleted":
		f.EndedAt, f.EndStatus = at, "deleted"
	}
	return csid, open, f, true
}

// contactReason tells why a task began from the marks the service puts on
// the tasks it makes.
func contactReason(attrs map[string]any) string {
	switch {
	case attrs[unparkIDAttribute] != nil:
		return ContactUnpark
	case attrs[TransferTaskKey] != nil:
		return ContactTransfer
	default:
		return ContactInbound
	}
}

// time is when the event happened (TaskRouter's clock), the service's
// clock when the event does not say.
func (e TaskRouterEvent) time() time.Time {
	if ms, err := strconv.ParseInt(e.TimestampMs, 10, 64); err == nil && ms > 0 {
		return time.UnixMilli(ms).UTC()
	}
	if t := unixTime(e.Timestamp); !t.IsZero() {
		return t
	}
	return time.Now().UTC()
}

// unixTime parses Unix seconds; zero when s is not a number.
func unixTime(s string) time.Time {
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil || sec <= 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

// parseTwilioTime parses the first of values that is an ISO 8601 time.
func parseTwilioTime(values ...string) time.Time {
	for _, v := range values {
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// olderThan maps each task of rec created before task sid to sid's
// creation: by then an older task TaskRouter no longer has had ended.
func olderThan(rec *InteractionRecord, sid string) map[string]time.Time {
	var created time.Time
	for _, t := range rec.Tasks {
		if t.Sid == sid {
			created = t.CreatedAt
		}
	}
	out := map[string]time.Time{}
	for _, t := range rec.Tasks {
		if t.Sid != sid && !created.IsZero() && !t.CreatedAt.IsZero() && t.CreatedAt.Before(created) {
			out[t.Sid] = created
		}
	}
	return out
}
