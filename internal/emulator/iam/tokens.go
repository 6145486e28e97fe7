// Package iam emulates the one Twilio IAM call a Flex backend makes: the
// Flex token validation behind twilio-flex-token-validator,
// POST https://iam.twilio.com/v1/Accounts/{AccountSid}/Tokens/validate.
//
// Real Flex tokens are JWEs only Twilio can decrypt, so the emulator issues
// opaque random tokens of the same shape and validates them by lookup.
package iam

import (
	"crypto/rand"
	"encoding/base64"
	"time"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

// Identity is who a token speaks for, as IAM's validation reports it.
type Identity struct {
	WorkerSid string
	Identity  string
	Roles     []string
}

// forgetAfter is how long an expired token is still recognised (validated as
// "expired" rather than "invalid") before it is dropped, so that memory stays
// bounded however many tokens a long run issues.
const forgetAfter = time.Hour

// grant is one issued token's record.
type grant struct {
	id        Identity
	expiresAt time.Time
}

// Store holds the issued tokens. Its methods run with env's lock held.
type Store struct {
	env    *core.Env
	tokens map[string]*grant
}

// New returns a store with no tokens.
func New(env *core.Env) *Store {
	return &Store{env: env, tokens: make(map[string]*grant)}
}

// jweHeader is the protected header of the tokens: the same fields a Flex
// token's header carries, so a token looks like one in logs and to code that
// checks its shape. It is constant, which keeps the token free of identity.
var jweHeader = base64.RawURLEncoding.EncodeToString(
	[]byte(`{"zip":"DEF","kid":"flexhooks-emulator","cty":"twilio-fpa;v=1","enc":"A256GCM","alg":"dir"}`))

// Issue makes a token for id valid for ttl on the virtual clock.
func (s *Store) Issue(id Identity, ttl time.Duration) (token string, expiresAt time.Time) {
	id.Roles = append([]string(nil), id.Roles...)
	// A JWE in compact form with "dir" has an empty encrypted-key part:
	// header..iv.ciphertext.tag. All but the header are random.
	token = jweHeader + ".." + random(12) + "." + random(48) + "." + random(16)
	expiresAt = s.env.Now().Add(ttl)
	s.tokens[token] = &grant{id: id, expiresAt: expiresAt}
	s.env.Schedule(expiresAt.Add(forgetAfter), func() { delete(s.tokens, token) })
	return token, expiresAt
}

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Twilio's answers for tokens it does not accept (valid:false in a 200).
const (
	codeInvalidToken = 20101
	msgInvalidToken  = "Invalid Access Token"
	codeExpiredToken = 20104
	msgExpiredToken  = "Access Token expired or expiration date invalid"
)

// Validation is IAM's answer to Tokens/validate, field for field.
type Validation struct {
	Valid           bool     `json:"valid"`
	Code            int      `json:"code"`
	Message         *string  `json:"message"`
	Expiration      *string  `json:"expiration"`
	RealmUserID     *string  `json:"realm_user_id"`
	Identity        *string  `json:"identity"`
	Roles           []string `json:"roles"`
	WorkerSid       *string  `json:"worker_sid"`
	FlexInstanceSid *string  `json:"flex_instance_sid"`
	FlexUserSid     *string  `json:"flex_user_sid"`
}

// Validate answers as IAM does: valid with the token's identity, or not
// valid with Twilio's code and message. An expired token is compared with
// the virtual clock.
func (s *Store) Validate(token string) Validation {
	g, ok := s.tokens[token]
	if !ok {
		msg := msgInvalidToken
		return Validation{Code: codeInvalidToken, Message: &msg}
	}
	if !s.env.Now().Before(g.expiresAt) {
		msg := msgExpiredToken
		return Validation{Code: codeExpiredToken, Message: &msg}
	}
	roles := append([]string{}, g.id.Roles...)
	return Validation{
		Valid:           true,
		Expiration:      core.ISOPtr(g.expiresAt),
		RealmUserID:     ptr(core.SeedSID("US", g.id.Identity)),
		Identity:        ptr(g.id.Identity),
		Roles:           roles,
		WorkerSid:       ptr(g.id.WorkerSid),
		FlexInstanceSid: ptr(core.SeedSID("GO", s.env.AccountSID)),
		FlexUserSid:     ptr(core.SeedSID("FU", g.id.Identity)),
	}
}

func ptr(s string) *string { return &s }

// Snapshot is IAM's part of GET /emulator/state: counts only, since a token
// is a credential.
func (s *Store) Snapshot() any {
	now := s.env.Now()
	active := 0
	for _, g := range s.tokens {
		if now.Before(g.expiresAt) {
			active++
		}
	}
	return map[string]int{"tokens": len(s.tokens), "activeTokens": active}
}
