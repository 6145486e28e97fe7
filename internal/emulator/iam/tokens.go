// Package iam emulates the one Twilio IAM call a Flex backend makes: the
// Flex token validation behind twilio-flex-token-validator,
// POST https://iam.twilio.com/v1/Accounts/{AccountSid}/Tokens/validate.
//
// Real Flex tokens are JWEs only Twilio can decrypt. The emulator's are JWEs
// too (compact form, "dir" + A256GCM, RFC 7516) under a key derived from the
// account's auth token, carrying the identity and the expiry: like a real
// token, one is recognised, and found expired, for as long as anyone keeps
// it, whatever the virtual clock did meanwhile, with nothing stored.
package iam

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

// Identity is who a token speaks for, as IAM's validation reports it.
type Identity struct {
	WorkerSid string
	Identity  string
	Roles     []string
}

// forgetAfter is how long an issued token is counted in the state
// snapshot after it expired. Validation does not depend on it.
const forgetAfter = time.Hour

// Store issues and validates tokens. Its methods run with env's lock held.
type Store struct {
	env  *core.Env
	aead cipher.AEAD
	// issued counts tokens for the state snapshot: expiry by token.
	issued map[string]time.Time
}

// New returns a store with no tokens.
func New(env *core.Env) *Store {
	// The key is the auth token's HMAC, so that an emulator restarted with
	// the same credentials still accepts the tokens it issued before.
	mac := hmac.New(sha256.New, []byte(env.AuthToken))
	mac.Write([]byte("flexhooks emulator IAM token key"))
	block, err := aes.NewCipher(mac.Sum(nil))
	if err != nil { // a 32-byte key never fails
		panic(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return &Store{env: env, aead: aead, issued: make(map[string]time.Time)}
}

// jweHeader is the protected header of the tokens: the fields a Flex token's
// header carries (without "zip": the payload is not compressed). It is
// constant, which keeps the token's readable part free of identity.
var jweHeader = base64.RawURLEncoding.EncodeToString(
	[]byte(`{"kid":"flexhooks-emulator","cty":"twilio-fpa;v=1","enc":"A256GCM","alg":"dir"}`))

// claims is a token's encrypted payload.
type claims struct {
	WorkerSid string   `json:"worker_sid"`
	Identity  string   `json:"identity"`
	Roles     []string `json:"roles"`
	Exp       int64    `json:"exp"`
}

// Issue makes a token for id valid for ttl on the virtual clock.
func (s *Store) Issue(id Identity, ttl time.Duration) (token string, expiresAt time.Time) {
	// Whole seconds, as a JWT's exp: what Issue reports is what Validate uses.
	expiresAt = s.env.Now().Add(ttl).Truncate(time.Second)
	payload, _ := json.Marshal(claims{WorkerSid: id.WorkerSid, Identity: id.Identity, Roles: append([]string{}, id.Roles...), Exp: expiresAt.Unix()})
	iv := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(iv) // crypto/rand.Read never fails (Go ≥ 1.24)
	// The AAD is the encoded protected header (RFC 7516 §5.1, step 14);
	// "dir" has an empty encrypted-key part: header..iv.ciphertext.tag.
	sealed := s.aead.Seal(nil, iv, payload, []byte(jweHeader))
	ct, tag := sealed[:len(sealed)-s.aead.Overhead()], sealed[len(sealed)-s.aead.Overhead():]
	b64 := base64.RawURLEncoding.EncodeToString
	token = jweHeader + ".." + b64(iv) + "." + b64(ct) + "." + b64(tag)
	s.issued[token] = expiresAt
	s.env.Schedule(expiresAt.Add(forgetAfter), func() { delete(s.issued, token) })
	return token, expiresAt
}

// open decrypts a token; false for anything this emulator did not issue.
func (s *Store) open(token string) (claims, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 5 || parts[0] != jweHeader || parts[1] != "" {
		return claims{}, false
	}
	var raw [3][]byte
	for i, p := range parts[2:] {
		b, err := base64.RawURLEncoding.DecodeString(p)
		if err != nil {
			return claims{}, false
		}
		raw[i] = b
	}
	iv, ct, tag := raw[0], raw[1], raw[2]
	if len(iv) != s.aead.NonceSize() || len(tag) != s.aead.Overhead() {
		return claims{}, false
	}
	payload, err := s.aead.Open(nil, iv, append(ct, tag...), []byte(jweHeader))
	if err != nil {
		return claims{}, false
	}
	var c claims
	if json.Unmarshal(payload, &c) != nil {
		return claims{}, false
	}
	return c, true
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
	c, ok := s.open(token)
	if !ok {
		msg := msgInvalidToken
		return Validation{Code: codeInvalidToken, Message: &msg}
	}
	expiresAt := time.Unix(c.Exp, 0).UTC()
	if !s.env.Now().Before(expiresAt) {
		msg := msgExpiredToken
		return Validation{Code: codeExpiredToken, Message: &msg}
	}
	return Validation{
		Valid:           true,
		Expiration:      core.ISOPtr(expiresAt),
		RealmUserID:     ptr(core.SeedSID("US", c.Identity)),
		Identity:        ptr(c.Identity),
		Roles:           append([]string{}, c.Roles...),
		WorkerSid:       ptr(c.WorkerSid),
		FlexInstanceSid: ptr(core.SeedSID("GO", s.env.AccountSID)),
		FlexUserSid:     ptr(core.SeedSID("FU", c.Identity)),
	}
}

func ptr(s string) *string { return &s }

// Snapshot is IAM's part of GET /emulator/state: counts only, since a token
// is a credential.
func (s *Store) Snapshot() any {
	now := s.env.Now()
	active := 0
	for _, exp := range s.issued {
		if now.Before(exp) {
			active++
		}
	}
	return map[string]int{"tokens": len(s.issued), "activeTokens": active}
}
