package emulator

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/flexhooks/flexhooks/internal/emulator/conversations"
	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

type agentMessageBody struct {
	Author string `json:"author"` // the agent's identity in the conversation (the worker's name: alice)
	Body   string `json:"body"`
}

// postAgentMessage is POST /emulator/conversations/{conversationSid}/messages:
// an agent writes as the Flex UI does, through the Conversations SDK as a
// participant of the conversation. Such a message has source SDK and fires
// the service's webhooks (onMessageAdded), unlike a REST API message
// without X-Twilio-Webhook-Enabled
// (https://www.twilio.com/docs/conversations/conversations-webhooks: webhooks
// fire for actions from the SDKs, and for REST actions only with the header).
func (e *Emulator) postAgentMessage(w http.ResponseWriter, r *http.Request) {
	var in agentMessageBody
	if !decodeControl(w, r, &in) {
		return
	}
	if in.Author == "" || in.Body == "" {
		controlError(w, http.StatusBadRequest, "missing fields: author (the agent's identity, e.g. alice) and body are required")
		return
	}
	sid := chi.URLParam(r, "conversation")
	e.env.Lock()
	c := e.conv.Conversation(sid)
	if c == nil {
		e.env.Unlock()
		controlError(w, http.StatusNotFound, "no conversation "+sid)
		return
	}
	joined := false
	for _, p := range c.Participants() {
		joined = joined || p.Identity == in.Author
	}
	if !joined {
		e.env.Unlock()
		controlError(w, http.StatusConflict, in.Author+" is not a participant of "+sid+": the Flex UI writes only in conversations its agent has joined (accept the reservation first)")
		return
	}
	m, cerr := e.conv.AddMessage(sid, conversations.MessageParams{Author: in.Author, Body: in.Body, Source: "SDK"})
	e.env.Unlock()
	if cerr != nil {
		controlError(w, cerr.Status, cerr.Message)
		return
	}
	if !e.settle(w, r) {
		return
	}
	core.WriteJSON(w, http.StatusOK, map[string]string{"conversationSid": sid, "messageSid": m.Sid})
}
