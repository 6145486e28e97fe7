package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/flexhooks/flexhooks"
)

// Persistent chat links a returning customer's new conversation to a past
// session, as Amazon Connect's persistent chat does, on Twilio's
// primitives:
//
//   - a contact is a TaskRouter task of a conversation, a session is one
//     conversation; both are in the interaction records (Contacts());
//   - a link is the new record's ContinuedFrom: the contact continued from
//     and, whole, every past session the transcript shows (History), so
//     that the transcript reads them all at once rather than walking the
//     chain one hop at a time, and a chain keeps growing as the customer
//     comes back (C3 → C2 → C1);
//   - past messages stay where they are, in the closed conversations, and
//     the transcript reads them from Twilio: copying them into the new
//     conversation would send them to the customer again.
//
// A link is written once, with the record's revision (If-Match); writing
// the same link again changes nothing, and a different one is refused. So
// POST /persistent-chat, automatic linking and replicas racing agree on one
// link per conversation.

// ClientTokenMap holds POST /persistent-chat's client tokens: key the
// token's SHA-256 (hex), data clientTokenEntry, TTL ClientTokenTTL; spread
// over IndexShards Maps by the key (ShardedMap). Tokens claimed in the
// single Map of earlier versions are not looked for: a replay of one does
// the (idempotent) link again.
const ClientTokenMap = "flexhooks_persistent_chat_tokens"

// ClientTokenTTL is how long a client token is remembered: Amazon Connect's
// seven days.
const ClientTokenTTL = 7 * 24 * time.Hour

// Task attributes a link sets on the new conversation's live tasks, so
// that the agent's Flex UI can show the history before the agent accepts.
const (
	ContinuedFromAttribute = "continuedFromContactId"
	TranscriptURLAttribute = "transcriptUrl"
)

// History limits. A record is one Sync item, 16 KiB at most, and its tasks
// keep growing after the link: the link takes at most maxContinuationBytes
// of it, dropping the oldest sessions to fit, and at most MaxHistory
// sessions whatever their size.
const (
	DefaultMaxHistory    = 10
	maxContinuationBytes = 8 << 10
)

// autoCandidates is how many of the customer's previous interactions
// automatic linking looks at for the last ended one: the newest is almost
// always it (a customer has one open conversation per address).
const autoCandidates = 5

// TranscriptPath is the transcript route of a conversation.
func TranscriptPath(conversationSid string) string {
	return "/conversations/" + conversationSid + "/transcript"
}

// PersistentChatTwilio is every Twilio operation persistent chat uses:
// the records' and the transcript's, task attribute updates and the
// client-token items.
type PersistentChatTwilio interface {
	InteractionTwilio
	// ListConversationMessages returns one page of a conversation's
	// messages, oldest first, from cursor ("" for the first page): as
	// many as Twilio gives in one call (100). ENOTFOUND when Twilio no
	// longer has the conversation.
	ListConversationMessages(ctx context.Context, conversationSid, cursor string) (MessagePage, error)
	// FetchTaskVersion returns a task's attributes (JSON text) and version.
	FetchTaskVersion(ctx context.Context, workspaceSid, taskSid string) (attributes, version string, err error)
	// UpdateTaskAttributes replaces a task's attributes if it is still at
	// version (If-Match): ECONFLICT when it changed meanwhile.
	UpdateTaskAttributes(ctx context.Context, workspaceSid, taskSid, attributes, version string) error
	// OverwriteSyncMapItem replaces an item's data whatever its revision,
	// keeping its TTL.
	OverwriteSyncMapItem(ctx context.Context, mapName, key string, data any) error
	DeleteSyncMapItem(ctx context.Context, mapName, key string) error
}

// ConversationMessage is a conversation message as the transcript reads it.
type ConversationMessage struct {
	Sid            string
	Index          int
	Author         string
	Body           string
	ParticipantSid string
	// Media is how many media the message carries.
	Media       int
	DateCreated time.Time
}

// MessagePage is one page of a conversation's messages; Next is the
// cursor of the next page, "" after the last.
type MessagePage struct {
	Messages []ConversationMessage
	Next     string
}

// PersistentChatConfig configures persistent chat.
type PersistentChatConfig struct {
	// Automatic links a returning customer's new conversation by itself:
	// ENTIRE_PAST_SESSION or FROM_SEGMENT; "" or "off" leaves linking to
	// POST /persistent-chat.
	Automatic string
	// Window is how long after their last conversation closed a returning
	// customer is linked automatically.
	Window time.Duration
	// PublicBaseURL builds the transcript link put on tasks.
	PublicBaseURL string
	// WorkspaceSid is the TaskRouter workspace of the tasks annotated.
	WorkspaceSid string
	// MaxHistory bounds the sessions a chain keeps (DefaultMaxHistory).
	MaxHistory int
	// ClientTokenTTL is how long client tokens are kept (ClientTokenTTL).
	ClientTokenTTL time.Duration
	// UndoTimeout bounds the release of a client token after a failure,
	// which runs even when the request's context is done. Default 10 s.
	UndoTimeout time.Duration
	// Gap, when set, counts the automatic links given up on.
	Gap GapFunc
}

// PersistentChat links conversations to past sessions and serves their
// transcripts. It keeps nothing in memory: links live in the interaction
// records, client tokens in Sync.
type PersistentChat struct {
	in  *Interactions
	tw  PersistentChatTwilio
	cfg PersistentChatConfig
	log *slog.Logger
	now func() time.Time
}

// NewPersistentChat returns persistent chat over the interaction records.
// log may be nil. Call RegisterAutomatic to turn automatic linking on.
func NewPersistentChat(in *Interactions, tw PersistentChatTwilio, cfg PersistentChatConfig, log *slog.Logger) *PersistentChat {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxHistory <= 0 {
		cfg.MaxHistory = DefaultMaxHistory
	}
	if cfg.ClientTokenTTL <= 0 {
		cfg.ClientTokenTTL = ClientTokenTTL
	}
	if cfg.UndoTimeout <= 0 {
		cfg.UndoTimeout = 10 * time.Second
	}
	switch cfg.Automatic {
	case RehydrateEntirePastSession, RehydrateFromSegment:
	default:
		cfg.Automatic = ""
	}
	cfg.PublicBaseURL = strings.TrimRight(cfg.PublicBaseURL, "/")
	return &PersistentChat{in: in, tw: tw, cfg: cfg, log: log, now: time.Now}
}

// RegisterAutomatic hooks automatic linking onto the records (OnOpened)
// when it is configured. Call before serving.
func (pc *PersistentChat) RegisterAutomatic() {
	if pc.cfg.Automatic != "" {
		pc.in.OnOpened(pc.OnOpened)
	}
}

// TranscriptURL is where a conversation's transcript is read.
func (pc *PersistentChat) TranscriptURL(conversationSid string) string {
	return pc.cfg.PublicBaseURL + TranscriptPath(conversationSid)
}

// Rehydrate links the request's conversation to the past session of its
// source contact (POST /persistent-chat).
//
// Checks, all before anything changes (a 4xx changes nothing): the new
// conversation has a record (404 when Twilio does not know it, 409 while
// its first task is not recorded yet) and is not closed (409); the source
// contact exists (404); its conversation is closed (409); an agent may
// link only a conversation assigned to them (403) to a session of the same
// customer (same profile, or profiles linked to the same customer ID: 403
// otherwise), supervisors and the service's own credentials any;
// ENTIRE_PAST_SESSION names the session's initial contact (400); the new
// conversation continues from nothing else (409; the same link again is a
// success).
//
// Round trips: the client-token claim, the contact lookup and the new
// record side by side → the past record, the new conversation's live tasks
// (their versions) and, on a replay, the token's item side by side → the
// link (If-Match on the revision already read) → the token's answer and
// the tasks' attributes side by side: four.
func (pc *PersistentChat) Rehydrate(ctx context.Context, req PersistentChatRequest) (*PersistentChatResult, error) {
	logSids(ctx, "conversationSid", req.ConversationSid, "sourceContactId", req.SourceContactID)
	csid := req.ConversationSid
	tokenKey, digest := "", req.digest()
	if req.ClientToken != "" {
		tokenKey = clientTokenKey(req.ClientToken)
	}

	var (
		claimErr       error
		idx            SyncItem
		idxErr         error
		rec            *InteractionRecord
		rev            string
		recErr         error
		hasClaimedItem bool
	)
	fns := []func(){
		func() {
			idx, idxErr = pc.in.fetchSharded(ctx, ContactMap, ContactMapOf(req.SourceContactID), req.SourceContactID)
		},
		func() { rec, rev, recErr = pc.in.load(ctx, csid) },
	}
	if tokenKey != "" {
		fns = append(fns, func() {
			claimErr = pc.tw.CreateSyncMapItem(ctx, ShardedMap(ClientTokenMap, tokenKey), tokenKey,
				clientTokenEntry{Request: digest, CreatedAt: pc.now().UTC()}, pc.cfg.ClientTokenTTL)
			hasClaimedItem = claimErr == nil
		})
	}
	parallel(fns...)
	// fail undoes the claim, if this request made it: a refused request
	// must leave the token free.
	fail := func(err error) (*PersistentChatResult, error) {
		if hasClaimedItem {
			pc.releaseToken(ctx, tokenKey)
		}
		return nil, err
	}
	if claimErr != nil && !isConflict(claimErr) {
		return nil, claimErr
	}

	// Second round: whatever the first one made reachable.
	var (
		past       *InteractionRecord
		pastErr    error
		pastCsid   string
		entry      *clientTokenEntry
		entryErr   error
		versions   = map[string]taskVersion{}
		versionsMu sync.Mutex
	)
	fns = fns[:0]
	if isConflict(claimErr) {
		fns = append(fns, func() { entry, entryErr = pc.fetchToken(ctx, tokenKey) })
	}
	if idxErr == nil {
		var e contactEntry
		if err := json.Unmarshal(idx.Data, &e); err == nil && validSID("CH", e.ConversationSid) {
			pastCsid = e.ConversationSid
			fns = append(fns, func() { past, _, pastErr = pc.in.load(ctx, pastCsid) })
		}
	}
	if recErr == nil && pc.cfg.WorkspaceSid != "" {
		// Read now, alongside, for the attribute update after the link;
		// a failure here only means reading again then.
		for _, t := range liveTasks(rec) {
			fns = append(fns, func() {
				attrs, ver, err := pc.tw.FetchTaskVersion(ctx, pc.cfg.WorkspaceSid, t)
				if err == nil {
					versionsMu.Lock()
					versions[t] = taskVersion{attributes: attrs, version: ver}
					versionsMu.Unlock()
				}
			})
		}
	}
	if len(fns) > 0 {
		parallel(fns...)
	}

	// The new conversation, and who may link it.
	if recErr != nil {
		return fail(pc.newConversationError(ctx, csid, recErr))
	}
	if err := pc.mayLink(ctx, rec); err != nil {
		return fail(err)
	}
	if entry != nil || entryErr != nil {
		switch {
		case isNotFound(entryErr):
			// Expired between the claim and the fetch: act without it.
			tokenKey = ""
		case entryErr != nil:
			return nil, entryErr
		case entry.Request != digest:
			return nil, flexhooks.Errorf(flexhooks.ECONFLICT, "clientToken was already used for a different request")
		case entry.Result != nil:
			return entry.Result, nil
		}
		// The same request, in progress elsewhere or interrupted: doing it
		// again is safe (linking is idempotent).
	}
	if rec.Closed() {
		return fail(flexhooks.Errorf(flexhooks.ECONFLICT, "conversation %s is closed: only an active conversation can continue a past session", csid))
	}

	if err := pc.checkSource(ctx, req, rec, idxErr, past, pastErr); err != nil {
		return fail(err)
	}
	cont, err := newContinuation(past, req.SourceContactID, req.RehydrationType, pc.cfg.MaxHistory)
	if err != nil {
		return fail(err)
	}

	linked, err := pc.link(ctx, csid, rec, rev, cont)
	if err != nil {
		return fail(err)
	}
	res := pc.result(linked)
	var tokenErr error
	fns = []func(){func() { pc.annotateTasks(ctx, linked, versions) }}
	if tokenKey != "" {
		fns = append(fns, func() {
			tokenErr = pc.tw.OverwriteSyncMapItem(ctx, ShardedMap(ClientTokenMap, tokenKey), tokenKey,
				clientTokenEntry{Request: digest, Result: res, CreatedAt: pc.now().UTC()})
		})
	}
	parallel(fns...)
	if tokenErr != nil {
		// The link is made; a replay finds the token without its answer,
		// does the idempotent work again and records the answer then.
		pc.log.WarnContext(ctx, "persistent chat: client token answer not recorded", "conversationSid", csid, "err", tokenErr)
	}
	return res, nil
}

// checkSource checks the past session of the request's source contact,
// from the contact index lookup (idxErr) and the session's record (past,
// pastErr): the contact is known (404), its session is not the new
// conversation and is over (409), and it is the same customer's (403 for
// an agent).
func (pc *PersistentChat) checkSource(ctx context.Context, req PersistentChatRequest, rec *InteractionRecord, idxErr error, past *InteractionRecord, pastErr error) error {
	notFound := func(err error) error {
		return &flexhooks.Error{Code: flexhooks.ENOTFOUND, Message: "contact " + req.SourceContactID + " not found", Err: err}
	}
	switch {
	case isNotFound(idxErr), isNotFound(pastErr):
		return notFound(errors.Join(idxErr, pastErr))
	case idxErr != nil:
		return idxErr
	case pastErr != nil:
		return pastErr
	case past == nil: // an index entry that names no conversation
		return notFound(nil)
	case !slices.ContainsFunc(past.Tasks, func(t RecordTask) bool { return t.Sid == req.SourceContactID }):
		return notFound(fmt.Errorf("not among the tasks of %s's record", past.ConversationSid))
	case past.ConversationSid == rec.ConversationSid:
		return flexhooks.Errorf(flexhooks.ECONFLICT, "a conversation cannot continue itself")
	}
	if err := pc.ended(ctx, past); err != nil {
		return err
	}
	return sameCustomer(ctx, rec, past)
}

// taskVersion is a task's attributes and version as fetched.
type taskVersion struct {
	attributes, version string
}

// liveTasks are the record's tasks that have not ended: the ones whose
// attributes can still change.
func liveTasks(rec *InteractionRecord) []string {
	var out []string
	for _, t := range rec.Tasks {
		if t.EndedAt.IsZero() {
			out = append(out, t.Sid)
		}
	}
	return out
}

// newConversationError explains a new conversation without a record: 404
// when Twilio does not know it either, 409 while its first task is not
// recorded yet (the caller was quicker than TaskRouter's event).
func (pc *PersistentChat) newConversationError(ctx context.Context, csid string, recErr error) error {
	if !isNotFound(recErr) {
		return recErr
	}
	_, err := pc.tw.FetchConversation(ctx, csid)
	switch {
	case isNotFound(err):
		return conversationError(csid, err)
	case err != nil:
		return err
	}
	return &flexhooks.Error{Code: flexhooks.ECONFLICT,
		Message: "conversation " + csid + " has no contact yet: retry once its task is created", Err: recErr}
}

// mayLink lets an agent link a past session only into a conversation they
// hold now (a live task, TaskRouter says): a link changes the record and
// shows its transcript to whoever holds the conversation. Supervisors and
// the service's own credentials (no caller) may link any.
func (pc *PersistentChat) mayLink(ctx context.Context, rec *InteractionRecord) error {
	c, ok := flexhooks.CallerFrom(ctx)
	if !ok || c.IsSupervisor() {
		return nil
	}
	if !rec.AssignedTo(c.WorkerSid) {
		return flexhooks.Errorf(flexhooks.EFORBIDDEN, "conversation %s was never assigned to you", rec.ConversationSid)
	}
	holders, err := pc.in.liveHolders(ctx, rec)
	if err != nil {
		return err
	}
	if !slices.Contains(holders, c.WorkerSid) {
		return flexhooks.Errorf(flexhooks.EFORBIDDEN, "conversation %s is no longer yours: only its current agent or a supervisor may link a past session into it", rec.ConversationSid)
	}
	return nil
}

// sameCustomer refuses an agent a past session of another customer: the
// link would show them that customer's messages. The same customer is the
// same profile (channel and address), or two profiles that a supervisor or
// the service linked to the same customer ID (a customer back on another
// channel); an agent cannot make such a link (PatchProfile).
func sameCustomer(ctx context.Context, rec, past *InteractionRecord) error {
	c, ok := flexhooks.CallerFrom(ctx)
	if !ok || c.IsSupervisor() {
		return nil
	}
	a, b := profileOf(rec), profileOf(past)
	if a != "" && a == b {
		return nil
	}
	if id := rec.OpenedFor.CustomerID; id != "" && id == past.OpenedFor.CustomerID &&
		rec.OpenedFor.CustomerLinkedBy != "" && past.OpenedFor.CustomerLinkedBy != "" {
		return nil // both profiles were linked by a supervisor or the service
	}
	return flexhooks.Errorf(flexhooks.EFORBIDDEN, "conversation %s is another customer's: ask a supervisor to link it", past.ConversationSid)
}

// profileOf is the profile a record was opened for, derived from its
// channel and address when the profile could not be recorded.
func profileOf(rec *InteractionRecord) string {
	if id := rec.OpenedFor.ProfileID; id != "" {
		return id
	}
	if rec.Channel != "" && rec.CustomerAddress != "" {
		return ProfileID(rec.Channel, rec.CustomerAddress)
	}
	return ""
}

// ended checks that a past session is over. The record says so once it saw
// the close; when it did not (its close event was lost), Twilio is asked:
// a closed conversation, or one Twilio no longer has, is over.
func (pc *PersistentChat) ended(ctx context.Context, past *InteractionRecord) error {
	if past.Closed() {
		return nil
	}
	conv, err := pc.tw.FetchConversation(ctx, past.ConversationSid)
	switch {
	case isNotFound(err):
		return nil
	case err != nil:
		return err
	case conv.State == "closed":
		return nil
	}
	return flexhooks.Errorf(flexhooks.ECONFLICT, "conversation %s is still %s: only an ended session can be continued", past.ConversationSid, conv.State)
}

// newContinuation is the link to past from its contact source: the contact
// continued from, and the sessions shown (past's own chain, then past up to
// that contact), at most maxHistory and maxContinuationBytes of them, the
// oldest dropped first.
func newContinuation(past *InteractionRecord, source, typ string, maxHistory int) (*Continuation, error) {
	i := slices.IndexFunc(past.Tasks, func(t RecordTask) bool { return t.Sid == source })
	if i < 0 {
		return nil, flexhooks.Errorf(flexhooks.ENOTFOUND, "contact %s not found in conversation %s", source, past.ConversationSid)
	}
	upTo := i
	var until time.Time
	switch typ {
	case RehydrateEntirePastSession:
		if i != 0 {
			return nil, flexhooks.Invalid(map[string]string{"sourceContactId": fmt.Sprintf(
				"with ENTIRE_PAST_SESSION, must be the initial contact of its session (%s)", past.Tasks[0].Sid)})
		}
		upTo = len(past.Tasks) - 1
	case RehydrateFromSegment:
		until = contactEnd(past, i)
	default:
		return nil, flexhooks.Invalid(map[string]string{"rehydrationType": "must be ENTIRE_PAST_SESSION or FROM_SEGMENT"})
	}
	var history []PastSession
	if cf := past.ContinuedFrom; cf != nil {
		history = slices.Clone(cf.History)
	}
	history = append(history, PastSession{
		ConversationSid: past.ConversationSid,
		UpToContactID:   past.Tasks[upTo].Sid,
		Until:           until,
		Contacts:        shownContacts(past, upTo),
	})
	if maxHistory > 0 && len(history) > maxHistory {
		history = history[len(history)-maxHistory:]
	}
	cont := &Continuation{ContactID: past.Tasks[upTo].Sid, ConversationSid: past.ConversationSid, RehydrationType: typ, History: history}
	for len(cont.History) > 1 {
		b, err := json.Marshal(cont)
		if err != nil {
			return nil, err
		}
		if len(b) <= maxContinuationBytes {
			break
		}
		cont.History = cont.History[1:]
	}
	return cont, nil
}

// contactEnd is when contact i of a record ended: its end, else the next
// contact's start, else the close. Zero when none is known.
func contactEnd(r *InteractionRecord, i int) time.Time {
	if t := r.Tasks[i]; !t.EndedAt.IsZero() {
		return t.EndedAt
	}
	if i+1 < len(r.Tasks) && !r.Tasks[i+1].CreatedAt.IsZero() {
		return r.Tasks[i+1].CreatedAt
	}
	return r.closedAt()
}

// shownContacts are the contacts of a session up to index upTo, with only
// what a transcript needs (who, and when each was live): the record keeps
// them whole, the link need not.
func shownContacts(r *InteractionRecord, upTo int) []RecordTask {
	out := make([]RecordTask, 0, upTo+1)
	for i, t := range r.Tasks[:upTo+1] {
		reason := t.Reason
		if i == 0 && r.ContinuedFrom != nil && reason == ContactInbound {
			reason = ContactRehydrated
		}
		out = append(out, RecordTask{Sid: t.Sid, Reason: reason, CreatedAt: t.CreatedAt, AcceptedAt: t.AcceptedAt,
			EndedAt: t.EndedAt, WorkerName: t.WorkerName})
	}
	return out
}

func sameContinuation(a, b *Continuation) bool {
	return a.ContactID == b.ContactID && a.ConversationSid == b.ConversationSid && a.RehydrationType == b.RehydrationType
}

// link writes cont into the conversation's record, with the record's
// revision: rec and rev when the caller has read them (nil: read here),
// read again after a lost race. The same link already there is a success
// with nothing written; another link, or a closed record, is 409.
func (pc *PersistentChat) link(ctx context.Context, csid string, rec *InteractionRecord, rev string, cont *Continuation) (*InteractionRecord, error) {
	return pc.in.apply(ctx, csid, rec, rev, nil, func(r *InteractionRecord) (bool, error) {
		switch cf := r.ContinuedFrom; {
		case cf != nil && sameContinuation(cf, cont):
			return false, nil
		case cf != nil:
			return false, flexhooks.Errorf(flexhooks.ECONFLICT, "conversation %s already continues from contact %s (%s)", csid, cf.ContactID, cf.RehydrationType)
		case r.Closed():
			return false, flexhooks.Errorf(flexhooks.ECONFLICT, "conversation %s is closed: only an active conversation can continue a past session", csid)
		}
		r.ContinuedFrom = cont
		return true, nil
	})
}

// result is the answer for a linked record; it depends on the link alone,
// which never changes once written, so every replay gets the same one.
func (pc *PersistentChat) result(rec *InteractionRecord) *PersistentChatResult {
	cf := rec.ContinuedFrom
	out := &PersistentChatResult{
		ConversationSid:              rec.ConversationSid,
		ContinuedFromContactID:       cf.ContactID,
		ContinuedFromConversationSid: cf.ConversationSid,
		SourceContactID:              cf.ContactID,
		RehydrationType:              cf.RehydrationType,
		Sessions:                     make([]ChainSession, 0, len(cf.History)),
		TranscriptURL:                pc.TranscriptURL(rec.ConversationSid),
	}
	if len(rec.Tasks) > 0 {
		out.ContactID = rec.Tasks[0].Sid
	}
	for _, s := range cf.History {
		cs := ChainSession{ConversationSid: s.ConversationSid, UpToContactID: s.UpToContactID, Until: timePtr(s.Until), ContactIDs: make([]string, 0, len(s.Contacts))}
		for _, c := range s.Contacts {
			cs.ContactIDs = append(cs.ContactIDs, c.Sid)
		}
		if len(s.Contacts) > 0 {
			cs.InitialContactID = s.Contacts[0].Sid
		}
		out.Sessions = append(out.Sessions, cs)
	}
	if n := len(out.Sessions); cf.RehydrationType == RehydrateEntirePastSession && n > 0 && out.Sessions[n-1].InitialContactID != "" {
		out.SourceContactID = out.Sessions[n-1].InitialContactID
	}
	return out
}

// annotateTasks puts the link on the record's live tasks' attributes
// (ContinuedFromAttribute, TranscriptURLAttribute), each conditionally on
// its version: fetched carries versions already read; a task that changed
// meanwhile is read again. It never fails: the link is made and the
// record says so; a task left without the attributes is logged.
func (pc *PersistentChat) annotateTasks(ctx context.Context, rec *InteractionRecord, fetched map[string]taskVersion) {
	if pc.cfg.WorkspaceSid == "" || rec.ContinuedFrom == nil {
		return
	}
	tasks := liveTasks(rec)
	errs := make([]error, len(tasks))
	fns := make([]func(), len(tasks))
	for i, sid := range tasks {
		tv, ok := fetched[sid]
		fns[i] = func() { errs[i] = pc.annotateTask(ctx, sid, rec.ConversationSid, rec.ContinuedFrom.ContactID, tv, ok) }
	}
	if len(fns) == 0 {
		return
	}
	parallel(fns...)
	if err := errors.Join(errs...); err != nil {
		pc.log.WarnContext(ctx, "persistent chat: a task does not show the link (the record does)",
			"conversationSid", rec.ConversationSid, "err", err)
		flexhooks.LogAttrs(ctx, slog.String("persistentChatTask", "not annotated"))
	}
}

// maxTaskUpdateAttempts bounds the conditional task update; TaskRouter
// changes a task at each routing step, so a couple of retries suffice.
const maxTaskUpdateAttempts = 4

// annotateTask sets the link's attributes on one task under If-Match.
func (pc *PersistentChat) annotateTask(ctx context.Context, taskSid, csid, contactID string, tv taskVersion, have bool) error {
	for attempt := range maxTaskUpdateAttempts {
		if !have {
			attrs, ver, err := pc.tw.FetchTaskVersion(ctx, pc.cfg.WorkspaceSid, taskSid)
			if err != nil {
				return err
			}
			tv = taskVersion{attributes: attrs, version: ver}
		}
		attrs, changed, err := withLink(tv.attributes, contactID, pc.TranscriptURL(csid))
		if err != nil || !changed {
			return err
		}
		err = pc.tw.UpdateTaskAttributes(ctx, pc.cfg.WorkspaceSid, taskSid, attrs, tv.version)
		if !isConflict(err) {
			return err
		}
		have = false
		backoff(ctx, attempt)
	}
	return flexhooks.Errorf(flexhooks.EUNAVAILABLE, "task %s: too many concurrent changes", taskSid)
}

// withLink returns task attributes carrying the link, every other key as it
// was, and whether that changed them.
func withLink(attributes, contactID, transcriptURL string) (string, bool, error) {
	obj, err := attributeObject(attributes)
	if err != nil {
		return "", false, err
	}
	var haveContact, haveURL string
	_ = json.Unmarshal(obj[ContinuedFromAttribute], &haveContact)
	_ = json.Unmarshal(obj[TranscriptURLAttribute], &haveURL)
	if haveContact == contactID && haveURL == transcriptURL {
		return attributes, false, nil
	}
	out, err := setAttribute(attributes, ContinuedFromAttribute, contactID)
	if err != nil {
		return "", false, err
	}
	out, err = setAttribute(out, TranscriptURLAttribute, transcriptURL)
	return out, err == nil, err
}

// fetchToken reads a client token's item.
func (pc *PersistentChat) fetchToken(ctx context.Context, key string) (*clientTokenEntry, error) {
	e, _, err := fetchItem[clientTokenEntry](ctx, pc.tw, ShardedMap(ClientTokenMap, key), key, "a client token's record")
	return e, err
}

// releaseToken deletes a claim this request made, even when the request's
// context is done: the token must be free for the caller's next try.
func (pc *PersistentChat) releaseToken(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pc.cfg.UndoTimeout)
	defer cancel()
	if err := pc.tw.DeleteSyncMapItem(ctx, ShardedMap(ClientTokenMap, key), key); err != nil && !isNotFound(err) {
		pc.log.WarnContext(ctx, "persistent chat: a refused request's client token stays claimed until it expires; "+
			"the same request can still be replayed with it", "err", err)
	}
}

// OnOpened is automatic linking, run by the records when this replica
// opens a new conversation's record (before an agent accepts its task):
// when the customer's last conversation (same profile) closed within the
// window, the new one continues from it, and the new task carries the
// link. It never fails what it observes: a Twilio failure leaves the
// conversation routed without history, and the gap is logged.
func (pc *PersistentChat) OnOpened(ctx context.Context, rec *InteractionRecord, ev TaskRouterEvent) {
	if pc.cfg.Automatic == "" {
		return
	}
	cont, err := pc.autoLink(ctx, rec, ev.TaskSid)
	switch {
	case err != nil:
		pc.log.WarnContext(ctx, "persistent chat gap: the conversation is routed without its history",
			"conversationSid", rec.ConversationSid, "taskSid", ev.TaskSid, "err", err)
		flexhooks.LogAttrs(ctx, slog.String("persistentChat", "gap"))
		if pc.cfg.Gap != nil {
			pc.cfg.Gap("persistent_chat")
		}
	case cont != nil:
		flexhooks.LogAttrs(ctx, slog.String("continuedFromContactId", cont.ContactID))
	}
}

// autoLink links rec to its customer's last ended conversation when that
// closed within the window; it returns the link made (nil: none due).
//
// Round trips: the profile's index → the candidates' records side by side
// → the record and the task (its version) side by side → the link → the
// task's attributes: five, after the record's opening.
func (pc *PersistentChat) autoLink(ctx context.Context, rec *InteractionRecord, taskSid string) (*Continuation, error) {
	pid, opened, csid := profileOf(rec), rec.OpenedAt(), rec.ConversationSid
	if pid == "" || opened.IsZero() || rec.firstContact {
		return nil, nil // a customer whose profile this opening made has no past
	}
	past, err := pc.lastEnded(ctx, pid, csid)
	if err != nil || past == nil {
		return nil, err
	}
	if gap := opened.Sub(past.closedAt()); gap > pc.cfg.Window {
		return nil, nil
	}
	cont, err := newContinuation(past, autoSource(past, pc.cfg.Automatic), pc.cfg.Automatic, pc.cfg.MaxHistory)
	if err != nil {
		return nil, err
	}
	var (
		linked  *InteractionRecord
		linkErr error
		tv      taskVersion
		tvErr   = errors.New("not fetched")
	)
	fns := []func(){func() { linked, linkErr = pc.link(ctx, csid, nil, "", cont) }}
	if pc.cfg.WorkspaceSid != "" && validSID("WT", taskSid) {
		fns = append(fns, func() { tv.attributes, tv.version, tvErr = pc.tw.FetchTaskVersion(ctx, pc.cfg.WorkspaceSid, taskSid) })
	}
	parallel(fns...)
	if isConflict(linkErr) && linked == nil {
		// Linked meanwhile (POST /persistent-chat was quicker): theirs stands.
		return nil, nil
	}
	if linkErr != nil {
		return nil, linkErr
	}
	fetched := map[string]taskVersion{}
	if tvErr == nil {
		fetched[taskSid] = tv
	}
	pc.annotateTasks(ctx, linked, fetched)
	return cont, nil
}

// lastEnded is the customer's most recently closed conversation other
// than csid: the profile's newest few index entries (newest first, the new
// conversation's own among them) are read side by side; nil when none is
// closed.
func (pc *PersistentChat) lastEnded(ctx context.Context, pid, csid string) (*InteractionRecord, error) {
	prefix := profileIndexPrefix(pid)
	items, err := pc.in.listProfileIndex(ctx, pid, prefix, autoCandidates+1)
	if err != nil {
		return nil, err
	}
	var csids []string
	for _, it := range items {
		if !strings.HasPrefix(it.Key, prefix) {
			break
		}
		var e profileIndexEntry
		if json.Unmarshal(it.Data, &e) == nil && validSID("CH", e.ConversationSid) && e.ConversationSid != csid {
			csids = append(csids, e.ConversationSid)
		}
	}
	if len(csids) == 0 {
		return nil, nil
	}
	recs := make([]*InteractionRecord, len(csids))
	errs := make([]error, len(csids))
	fns := make([]func(), len(csids))
	for i, c := range csids {
		fns[i] = func() { recs[i], _, errs[i] = pc.in.load(ctx, c) }
	}
	parallel(fns...)
	var last *InteractionRecord
	for i, r := range recs {
		switch {
		case isNotFound(errs[i]):
			continue
		case errs[i] != nil:
			return nil, errs[i]
		case !r.Closed() || len(r.Tasks) == 0:
			continue
		case last == nil || r.closedAt().After(last.closedAt()):
			last = r
		}
	}
	return last, nil
}

// autoSource is the contact automatic linking starts from. For
// ENTIRE_PAST_SESSION, the session's initial contact (it then continues
// from the most recent one). For FROM_SEGMENT, the last contact an agent
// accepted: what the customer last talked about with a person, leaving out
// a trailing contact nobody accepted (a post-chat survey, a bot, a
// transfer that was never picked up); the last contact when no agent
// accepted any.
func autoSource(past *InteractionRecord, mode string) string {
	if mode == RehydrateEntirePastSession {
		return past.Tasks[0].Sid
	}
	for i := len(past.Tasks) - 1; i >= 0; i-- {
		if !past.Tasks[i].AcceptedAt.IsZero() {
			return past.Tasks[i].Sid
		}
	}
	return past.Tasks[len(past.Tasks)-1].Sid
}
