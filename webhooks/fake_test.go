package webhooks

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/flexhooks/flexhooks"
)

// fakeTwilio is an in-memory ParkTwilio with Twilio's semantics where the
// orchestration depends on them (a delete of a missing webhook or item is
// 404, a create of an existing key 409), so the orchestration's ordering,
// claims and compensation can be unit-tested. End-to-end behaviour is
// tested against the emulator with the real client; this is no substitute.
type fakeTwilio struct {
	mu       sync.Mutex
	convs    map[string]*Conversation
	hooks    map[string]map[string]Webhook // conversation → sid → webhook
	items    map[string]map[string]SyncItem
	closed   map[string]bool // participant SIDs closed
	invites  []map[string]any
	seq      int
	fail     map[string]error // operation name → error to return
	calls    []string
	beforeOp func(op string) // lets a test interleave (nil: nothing)
	// The ownership world: the channel's participants, the conversation's
	// members, the tasks, and the workflows and queues that exist.
	seats   []InteractionParticipant
	members []ConversationParticipant
	tasks   map[string]Task
	routes  map[string]bool
}

func newFakeTwilio() *fakeTwilio {
	return &fakeTwilio{
		convs:  map[string]*Conversation{},
		hooks:  map[string]map[string]Webhook{},
		items:  map[string]map[string]SyncItem{},
		closed: map[string]bool{},
		fail:   map[string]error{},
		tasks:  map[string]Task{},
		routes: map[string]bool{},
	}
}

// seat puts an agent participant of worker, with its live task, on the
// channel of rec's conversation, and the worker's identity in it.
func (f *fakeTwilio) seat(rec ParkRecord, identity string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seats = append(f.seats, InteractionParticipant{Sid: rec.ParticipantSid, Type: "agent", WorkerSid: rec.WorkerSid, TaskSid: rec.TaskSid})
	f.members = append(f.members, ConversationParticipant{Sid: "MB" + rec.ParticipantSid[2:], Identity: identity})
	f.tasks[rec.TaskSid] = Task{Sid: rec.TaskSid, AssignmentStatus: "assigned", Attributes: map[string]any{
		"conversationSid": rec.ConversationSid, "flexInteractionSid": rec.InteractionSid, "flexInteractionChannelSid": rec.ChannelSid}}
	f.routes[rec.WorkflowSid], f.routes[rec.QueueSid] = true, true
}

func (f *fakeTwilio) ListInteractionParticipants(context.Context, string, string) ([]InteractionParticipant, error) {
	if err := f.op("ListInteractionParticipants"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []InteractionParticipant
	for _, s := range f.seats {
		if !f.closed[s.Sid] {
			out = append(out, s)
		}
	}
	return out, nil
}

func (f *fakeTwilio) ListConversationParticipants(context.Context, string) ([]ConversationParticipant, error) {
	if err := f.op("ListConversationParticipants"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]ConversationParticipant(nil), f.members...), nil
}

func (f *fakeTwilio) FetchTask(_ context.Context, _, sid string) (Task, error) {
	if err := f.op("FetchTask"); err != nil {
		return Task{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.tasks[sid]
	if !ok {
		return Task{}, notFound("task " + sid)
	}
	return t, nil
}

func (f *fakeTwilio) route(op, sid string) error {
	if err := f.op(op); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.routes[sid] {
		return notFound(sid)
	}
	return nil
}

func (f *fakeTwilio) FetchWorkflow(_ context.Context, _, sid string) (Workflow, error) {
	return Workflow{Sid: sid}, f.route("FetchWorkflow", sid)
}

func (f *fakeTwilio) FindWorkflow(_ context.Context, _, name string) (Workflow, error) {
	return Workflow{}, notFound(name)
}

func (f *fakeTwilio) FetchQueue(_ context.Context, _, sid string) (Queue, error) {
	return Queue{Sid: sid}, f.route("FetchQueue", sid)
}

func notFound(what string) error {
	return &flexhooks.Error{Code: flexhooks.ENOTFOUND, Message: what + " not found", TwilioCode: 20404}
}

func (f *fakeTwilio) op(name string) error {
	if f.beforeOp != nil {
		f.beforeOp(name)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, name)
	return f.fail[name]
}

func (f *fakeTwilio) FetchConversation(_ context.Context, sid string) (Conversation, error) {
	if err := f.op("FetchConversation"); err != nil {
		return Conversation{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.convs[sid]
	if !ok {
		return Conversation{}, notFound("conversation")
	}
	return *c, nil
}

func (f *fakeTwilio) UpdateConversationAttributes(_ context.Context, sid, attributes string) error {
	if err := f.op("UpdateConversationAttributes"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.convs[sid]
	if !ok {
		return notFound("conversation")
	}
	c.Attributes = attributes
	return nil
}

func (f *fakeTwilio) CreateConversationWebhook(_ context.Context, csid string, w Webhook) (string, error) {
	if err := f.op("CreateConversationWebhook"); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	w.Sid = fmt.Sprintf("WH%032x", f.seq)
	if f.hooks[csid] == nil {
		f.hooks[csid] = map[string]Webhook{}
	}
	f.hooks[csid][w.Sid] = w
	return w.Sid, nil
}

func (f *fakeTwilio) DeleteConversationWebhook(_ context.Context, csid, sid string) error {
	if err := f.op("DeleteConversationWebhook"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.hooks[csid][sid]; !ok {
		return notFound("webhook")
	}
	delete(f.hooks[csid], sid)
	return nil
}

func (f *fakeTwilio) ListConversationWebhooks(_ context.Context, csid string) ([]Webhook, error) {
	if err := f.op("ListConversationWebhooks"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Webhook
	for _, w := range f.hooks[csid] {
		out = append(out, w)
	}
	return out, nil
}

func (f *fakeTwilio) CloseInteractionParticipant(_ context.Context, _, _, participantSid string) error {
	if err := f.op("CloseInteractionParticipant"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed[participantSid] = true
	return nil
}

func (f *fakeTwilio) InteractionParticipantActive(_ context.Context, _, _, participantSid string) (bool, error) {
	if err := f.op("InteractionParticipantActive"); err != nil {
		return false, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.closed[participantSid], nil
}

func (f *fakeTwilio) CreateInteractionInvite(_ context.Context, _, _ string, routing map[string]any) (string, error) {
	if err := f.op("CreateInteractionInvite"); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.invites = append(f.invites, routing)
	return fmt.Sprintf("KG%032x", len(f.invites)), nil
}

func (f *fakeTwilio) ListInteractionInvites(context.Context, string, string) ([]Invite, error) {
	if err := f.op("ListInteractionInvites"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Invite
	for i, r := range f.invites {
		attrs, _ := r["properties"].(map[string]any)["attributes"].(map[string]any)
		out = append(out, Invite{Sid: fmt.Sprintf("KG%032x", i+1), TaskAttributes: attrs})
	}
	return out, nil
}

func (f *fakeTwilio) CreateSyncMapItem(_ context.Context, m, key string, data any, ttl time.Duration) error {
	if err := f.op("CreateSyncMapItem:" + m); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.items[m][key]; ok {
		return &flexhooks.Error{Code: flexhooks.ECONFLICT, Message: "exists", TwilioCode: 54208}
	}
	return f.putLocked(m, key, data, ttl)
}

func (f *fakeTwilio) PutSyncMapItem(_ context.Context, m, key string, data any, ttl time.Duration) error {
	if err := f.op("PutSyncMapItem:" + m); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.putLocked(m, key, data, ttl)
}

func (f *fakeTwilio) putLocked(m, key string, data any, ttl time.Duration) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	if f.items[m] == nil {
		f.items[m] = map[string]SyncItem{}
	}
	it := SyncItem{Key: key, Data: b, DateCreated: time.Now()}
	if ttl > 0 {
		it.DateExpires = it.DateCreated.Add(ttl)
	}
	f.items[m][key] = it
	return nil
}

func (f *fakeTwilio) FetchSyncMapItem(_ context.Context, m, key string) (SyncItem, error) {
	if err := f.op("FetchSyncMapItem:" + m); err != nil {
		return SyncItem{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	it, ok := f.items[m][key]
	if !ok {
		return SyncItem{}, notFound("item")
	}
	return it, nil
}

func (f *fakeTwilio) DeleteSyncMapItem(_ context.Context, m, key string) error {
	if err := f.op("DeleteSyncMapItem:" + m); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.items[m][key]; !ok {
		return notFound("item")
	}
	delete(f.items[m], key)
	return nil
}

func (f *fakeTwilio) ListSyncMapItems(_ context.Context, m string, limit int) ([]SyncItem, error) {
	if err := f.op("ListSyncMapItems:" + m); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []SyncItem
	for _, it := range f.items[m] {
		out = append(out, it)
	}
	return out, nil
}

// state helpers for assertions
func (f *fakeTwilio) hookCount(csid string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.hooks[csid])
}

// hasItem reports the key in map m, or in any shard of m ("m_x").
func (f *fakeTwilio) hasItem(m, key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for name, items := range f.items {
		if _, ok := items[key]; ok && (name == m || strings.HasPrefix(name, m+"_")) {
			return true
		}
	}
	return false
}

func (f *fakeTwilio) attrs(csid string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.convs[csid].Attributes
}

func (f *fakeTwilio) inviteCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.invites)
}

func (f *fakeTwilio) firstHook(csid string) Webhook {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, w := range f.hooks[csid] {
		return w
	}
	return Webhook{}
}
