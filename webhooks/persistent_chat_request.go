package webhooks

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Rehydration types, as Amazon Connect names them.
const (
	// RehydrateEntirePastSession continues from the past session's most
	// recent contact and shows the whole session; the source contact must
	// be the session's initial contact.
	RehydrateEntirePastSession = "ENTIRE_PAST_SESSION"
	// RehydrateFromSegment continues from the source contact and shows it
	// and the contacts before it; what came after it ended is left out.
	RehydrateFromSegment = "FROM_SEGMENT"
)

// maxClientToken is the longest client token taken (Amazon Connect's limit).
const maxClientToken = 500

// PersistentChatRequest is POST /persistent-chat: the new, active
// conversation continues the past session of sourceContactId.
type PersistentChatRequest struct {
	ConversationSid string `json:"conversationSid"`
	SourceContactID string `json:"sourceContactId"`
	RehydrationType string `json:"rehydrationType"`
	// ClientToken makes the request idempotent for ClientTokenTTL: the same
	// token with the same request answers the first answer again and
	// changes nothing; with a different request it is 409. Optional: the
	// operation is idempotent by itself, the token adds the 409 for a
	// different request and spares the work of a replay.
	ClientToken string `json:"clientToken"`
}

// Validate checks the fields, naming every bad one.
func (r *PersistentChatRequest) Validate() error {
	f := fieldErrors{}
	f.sid("conversationSid", r.ConversationSid, "CH")
	f.sid("sourceContactId", r.SourceContactID, "WT")
	switch r.RehydrationType {
	case RehydrateEntirePastSession, RehydrateFromSegment:
	case "":
		f["rehydrationType"] = "required: ENTIRE_PAST_SESSION or FROM_SEGMENT"
	default:
		f["rehydrationType"] = "must be ENTIRE_PAST_SESSION or FROM_SEGMENT"
	}
	switch {
	case r.ClientToken == "":
	case strings.TrimSpace(r.ClientToken) == "":
		f["clientToken"] = "must not be blank"
	case utf8.RuneCountInString(r.ClientToken) > maxClientToken:
		f["clientToken"] = "must be at most " + strconv.Itoa(maxClientToken) + " characters"
	}
	return f.err()
}

// digest identifies what the request asks, to tell a replay of a client
// token from its reuse for something else.
func (r *PersistentChatRequest) digest() string {
	sum := sha256.Sum256([]byte("v1\n" + r.ConversationSid + "\n" + r.SourceContactID + "\n" + r.RehydrationType))
	return hex.EncodeToString(sum[:])
}

// clientTokenKey is the Sync key of a client token: its SHA-256, so that
// the token itself is never stored and any token fits Sync's key rules.
func clientTokenKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// PersistentChatResult is the answer of POST /persistent-chat.
type PersistentChatResult struct {
	ConversationSid string `json:"conversationSid"`
	// ContactID is the new conversation's first contact (its task), whose
	// relatedContactId is ContinuedFromContactID.
	ContactID string `json:"contactId,omitempty"`
	// ContinuedFromContactID is the contact actually continued from: the
	// past session's most recent contact (ENTIRE_PAST_SESSION) or the
	// source contact (FROM_SEGMENT).
	ContinuedFromContactID       string `json:"continuedFromContactId"`
	ContinuedFromConversationSid string `json:"continuedFromConversationSid"`
	SourceContactID              string `json:"sourceContactId"`
	RehydrationType              string `json:"rehydrationType"`
	// Sessions are the past sessions the transcript shows, oldest first:
	// the chain accumulated over the customer's returns.
	Sessions      []ChainSession `json:"sessions"`
	TranscriptURL string         `json:"transcriptUrl"`
}

// ChainSession is one past session of a chain.
type ChainSession struct {
	ConversationSid  string `json:"conversationSid"`
	InitialContactID string `json:"initialContactId,omitempty"`
	UpToContactID    string `json:"upToContactId"`
	// Until is when the last contact shown ended (FROM_SEGMENT): messages
	// after it are left out. Absent: the whole session.
	Until      *time.Time `json:"until,omitempty"`
	ContactIDs []string   `json:"contactIds"`
}

// clientTokenEntry is an item of ClientTokenMap: the request a token was
// first used for and, once it succeeded, its answer. An entry without a
// result is a request in progress, or one whose process died before
// answering: a replay of the same request then does the (idempotent) work
// again.
type clientTokenEntry struct {
	Request   string                `json:"request"`
	Result    *PersistentChatResult `json:"result,omitempty"`
	CreatedAt time.Time             `json:"createdAt"`
}
