package webhooks

import (
	"context"
	"time"
)

// InteractionParticipant is a participant of a Flex interaction channel as
// Flex lists it (closed participants are not listed). Agents carry the
// worker and task their routing_properties name.
type InteractionParticipant struct {
	Sid       string
	Type      string // agent, customer, supervisor, external, unknown
	WorkerSid string
	TaskSid   string
}

// TransferInvite is an interaction channel invite with the task it made.
type TransferInvite struct {
	Sid            string
	TaskSid        string
	TaskStatus     string // the task's assignment status, when Flex shows it
	TaskAttributes map[string]any
}

// Worker is a TaskRouter worker.
type Worker struct {
	Sid          string
	FriendlyName string
}

// Queue is a TaskRouter task queue.
type Queue struct {
	Sid          string
	FriendlyName string
}

// Task is what a transfer reads of a TaskRouter task.
type Task struct {
	Sid              string
	AssignmentStatus string
	Attributes       map[string]any
	// DateUpdated is the task's last change: for a completed or canceled
	// task, when it ended (unless its attributes were changed since).
	DateUpdated time.Time
}

// TransferTwilio is every Twilio operation transfers use. Errors are
// *flexhooks.Error as for ParkTwilio: ENOTFOUND for Twilio's 404s, ECONFLICT
// for 409s and 54208, EUPSTREAM or EUNAVAILABLE otherwise.
type TransferTwilio interface {
	FetchConversation(ctx context.Context, conversationSid string) (Conversation, error)
	// UpdateConversationAttributes replaces the attributes; callers merge.
	UpdateConversationAttributes(ctx context.Context, conversationSid, attributes string) error

	ListInteractionParticipants(ctx context.Context, interactionSid, channelSid string) ([]InteractionParticipant, error)
	ListConversationParticipants(ctx context.Context, conversationSid string) ([]ConversationParticipant, error)
	// UpdateInteractionParticipantStatus sets an agent participant to
	// closed (their task completes) or wrapup (their task goes to wrapping);
	// either way they leave the conversation.
	UpdateInteractionParticipantStatus(ctx context.Context, interactionSid, channelSid, participantSid, status string) error
	// CreateTransferInvite creates an invite (a new task) with routing as
	// the Routing parameter, and returns it with its task's SID.
	CreateTransferInvite(ctx context.Context, interactionSid, channelSid string, routing map[string]any) (TransferInvite, error)
	ListTransferInvites(ctx context.Context, interactionSid, channelSid string) ([]TransferInvite, error)

	FetchWorker(ctx context.Context, workspaceSid, workerSid string) (Worker, error)
	FetchQueue(ctx context.Context, workspaceSid, queueSid string) (Queue, error)
	// FindQueue returns the queue with that friendly name; ENOTFOUND when
	// there is none.
	FindQueue(ctx context.Context, workspaceSid, friendlyName string) (Queue, error)
	FetchTask(ctx context.Context, workspaceSid, taskSid string) (Task, error)
	// CancelTask cancels a pending or reserved task.
	CancelTask(ctx context.Context, workspaceSid, taskSid, reason string) error
	// ListTaskReservations lists a task's reservations: whether its
	// target declined it.
	ListTaskReservations(ctx context.Context, workspaceSid, taskSid string) ([]TaskReservation, error)

	// The Sync map items hold the transfer claims (see
	// TransferClaimMap).
	CreateSyncMapItem(ctx context.Context, mapName, key string, data any, ttl time.Duration) error
	FetchSyncMapItem(ctx context.Context, mapName, key string) (SyncItem, error)
	DeleteSyncMapItem(ctx context.Context, mapName, key string) error
	ListSyncMapItems(ctx context.Context, mapName string, limit int) ([]SyncItem, error)
}
