// Package webhooks holds the service's operations, one file per function in
// the style of Twilio Functions: each file has its request type and its
// validation, the orchestration of the Twilio calls, and its response.
//
// The package declares the Twilio operations it needs as small interfaces
// (see twilio.go); internal/twilio implements them over twilio-go, and tests
// drive the real implementation against the emulator rather than mocking it.
//
// Park and unpark (park.go, unpark.go, unpark_webhook.go, parked_list.go,
// parkstate.go) keep no state in the process. A park lives in Twilio as:
//
//   - the park record under one key ("flexhooksPark") of the conversation's
//     attributes: everything needed to route the conversation again;
//   - a conversation-scoped webhook (onMessageAdded → /webhooks/unpark-interaction)
//     that brings the conversation back when the customer writes;
//   - a claim item keyed by the conversation SID in the Sync map
//     "flexhooks_parks", which makes two concurrent parks of one conversation
//     one park, and keeps a second copy of the record;
//   - optionally, the parked-list item in ParkedInteractions_{workerSid} that
//     flex-project-template's plugin reads.
//
// Exactly-once unpark rests on one atomic claim in Twilio: deleting the
// unpark webhook. Only one caller's delete succeeds; every other (concurrent
// messages, Twilio's retries, other replicas) gets 404 and does nothing.
//
// Only the customer's messages unpark. The webhook URL carries a digest of
// the customer's identity (?customer=…, signed by Twilio with the rest of
// the URL), so the author of each message is judged from the event alone,
// before any Twilio call: agents, the system and this service's own
// messages never match.
//
// A park outliving a WhatsApp or Messenger 24-hour window: the parked-list
// item expires with the window (ParkedTTL, 24 h; SMS items never expire),
// since the agent can no longer write free text and the plugin's list should
// not offer a conversation nobody can answer. The park itself does not
// expire: the webhook and the record stay, and the customer's reply (which
// reopens the window) resumes the conversation as always; the expired item
// is simply not there to delete. POST /unpark-interaction still works with
// the conversation SID after the item has gone.
//
// A parked conversation is recognised by IsParked(attributes): the
// inactivity timeout must leave such a conversation open (it has no agent
// and waits for the customer by design).
//
// Transfer (transfer.go, transfer_request.go, transfer_warm.go,
// transfer_state.go) invites first and closes the transferring agent's
// participant only once the invite exists; a Sync claim makes double clicks
// and replicas one transfer, and a pending warm transfer lives under the
// "flexhooksTransfer" attribute key until the target accepts, rejects, times
// out or the agent cancels.
//
// The inactivity timeout (reservation_accepted.go, inactivity.go,
// conversation_state_updated.go) arms Twilio's inactive timer when an agent
// accepts and closes on a TIMER inactivity behind a Sync claim, so one
// replica acts once; docs/inactivity.md describes the two-phase warning.
//
// Interaction records (interaction_record.go, interactions.go,
// interactions_api.go, profiles.go) keep one record per conversation in the
// Sync maps "flexhooks_interactions_{xxx}" (interaction_storage.go spreads
// every kind over many maps; interaction_cache.go and
// interaction_numbers.go keep the calls down): facts (each task's
// creation, accept and end, the first agent reply, the close and its
// kind) from which the state, reason, wait time and duration are
// derived, so that replayed, duplicated
// and late events give the same record; writes are conditional on the
// item's revision. They follow park, unpark and transfer through the tasks
// those make, and never fail what they observe (docs/interactions.md).
//
// Persistent chat (persistent_chat.go, persistent_chat_request.go,
// transcript.go) links a new conversation to a past session: the link is
// the new record's ContinuedFrom, written once under If-Match, carrying
// every past session the transcript shows so that they are read side by
// side; client tokens are Sync items keyed by the token's digest, kept 7
// days. The transcript reads past messages from Twilio, never copying them
// into the new conversation (docs/persistent-chat.md).
//
// TaskRouter's single workspace callback reaches taskrouter_events.go, which
// hands each event type to the capabilities that registered for it; a
// type's handlers run side by side.
package webhooks
