package twilio

import (
	"context"
	"strings"

	conversations "github.com/twilio/twilio-go/rest/conversations/v1"
	taskrouter "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhooks/flexhooks"

	"github.com/flexhooks/flexhooks/webhooks"
)

// The reads below let webhooks/ check what a request names against
// Twilio's own state before anything changes (webhooks/ownership.go).

// ListConversationParticipants lists the conversation's participants with
// their identities (chat and agent participants; SMS and WhatsApp customers
// have none). Twilio pages participants at up to 100; a Flex conversation
// has a handful.
func (o *Operations) ListConversationParticipants(ctx context.Context, conversationSid string) ([]webhooks.ConversationParticipant, error) {
	ps, err := o.c.API(ctx).Conversations.ListConversationParticipant(conversationSid,
		(&conversations.ListConversationParticipantParams{}).SetPageSize(100).SetLimit(1000))
	if err != nil {
		return nil, MapError(err)
	}
	out := make([]webhooks.ConversationParticipant, 0, len(ps))
	for _, p := range ps {
		out = append(out, webhooks.ConversationParticipant{Sid: ptrValue(p.Sid), Identity: ptrValue(p.Identity)})
	}
	return out, nil
}

// FetchWorkflow returns a workflow of the workspace; ENOTFOUND when unknown.
func (o *Operations) FetchWorkflow(ctx context.Context, workspaceSid, workflowSid string) (webhooks.Workflow, error) {
	w, err := o.c.API(ctx).TaskRouter.FetchWorkflow(workspaceSid, workflowSid)
	if err != nil {
		return webhooks.Workflow{}, MapError(err)
	}
	return webhooks.Workflow{Sid: ptrValue(w.Sid), FriendlyName: ptrValue(w.FriendlyName)}, nil
}

// FindWorkflow returns the workflow with that friendly name (TaskRouter's
// FriendlyName filter, then checked exactly, case aside).
func (o *Operations) FindWorkflow(ctx context.Context, workspaceSid, friendlyName string) (webhooks.Workflow, error) {
	ws, err := o.c.API(ctx).TaskRouter.ListWorkflow(workspaceSid,
		(&taskrouter.ListWorkflowParams{}).SetFriendlyName(friendlyName).SetPageSize(50).SetLimit(50))
	if err != nil {
		return webhooks.Workflow{}, MapError(err)
	}
	for _, w := range ws {
		if strings.EqualFold(ptrValue(w.FriendlyName), friendlyName) {
			return webhooks.Workflow{Sid: ptrValue(w.Sid), FriendlyName: ptrValue(w.FriendlyName)}, nil
		}
	}
	return webhooks.Workflow{}, flexhooks.Errorf(flexhooks.ENOTFOUND, "no workflow named %q", friendlyName)
}
