package webhooks

import "time"

// TaskSummary is a task as TaskRouter lists or fetches it.
type TaskSummary struct {
	Sid              string
	AssignmentStatus string
	// Attributes are nil when the list left them out.
	Attributes  map[string]any
	DateCreated time.Time
	// DateUpdated is the task's last change: for an ended task its end
	// (unless its attributes changed since).
	DateUpdated time.Time
	QueueSid    string
	QueueName   string
	// WorkflowSid and TaskChannelUniqueName are how it was routed.
	WorkflowSid           string
	TaskChannelUniqueName string
	// Reason is why it was completed or canceled.
	Reason string
}

// TaskListOptions narrows a workspace's task list (ListTasks).
type TaskListOptions struct {
	// Statuses are the assignment statuses listed (pending, reserved,
	// assigned, wrapping, completed, canceled); none lists all.
	Statuses []string
	// Evaluate is a TaskRouter expression the task attributes must match;
	// "" for all. Lists by expression share a low per-workspace rate
	// (docs/scaling.md).
	Evaluate string
	// NewestFirst orders by creation, newest first; else oldest first
	// (TaskRouter orders by DateCreated or Priority only).
	NewestFirst bool
	// Limit is the most tasks returned (at least 1), in pages of up to 1000.
	Limit int
}
