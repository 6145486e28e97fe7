package conversations

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

// Twilio's Conversations error codes the emulator answers with.
const (
	codeUniqueNameTaken    = 50353 // Conversation with provided unique name already exists
	codeTooManyWebhooks    = 50361 // more than five conversation-scoped webhooks
	codeTooManyTriggers    = 50362 // more than five trigger keywords
	codeInvalidWebhookType = 50364 // Target not webhook|studio|trigger
	codeInvalidTrigger     = 50366 // empty or over-long trigger keyword
	codeTriggerMissing     = 50371 // Target=trigger without Configuration.Triggers
	codeWebhookURLTooLong  = 50372 // URL over 512 characters
	codeClosed             = 50377 // Can't update conversation as it's in final closed state
	codeInitialClosed      = 50384 // Initial state can't be 'closed'
	codeBindingTaken       = 50416 // A binding for this participant and proxy address already exists
	codeIdentityTaken      = 50433 // Participant already exists (same identity)
)

func errClosed(sid string) *core.Error {
	return core.Errf(http.StatusBadRequest, codeClosed, "Can't update conversation %s as it's in final closed state", sid)
}

func notFound(kind, sid string) *core.Error {
	return core.Errf(http.StatusNotFound, core.CodeNotFound, "The requested resource /%s/%s was not found", kind, sid)
}

// validAttributes checks Twilio's rule for Attributes: a JSON object (we are
// lenient on "" meaning "unset").
func validAttributes(name, s string) *core.Error {
	if s == "" {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil || m == nil {
		return core.BadParam(name, "must be a valid JSON object")
	}
	return nil
}

// webhookEnabled reads X-Twilio-Webhook-Enabled: REST actions fire webhooks
// only when it is "true" (Twilio's rule, which avoids feedback loops).
func webhookEnabled(r *http.Request) bool {
	return strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Twilio-Webhook-Enabled")), "true")
}
