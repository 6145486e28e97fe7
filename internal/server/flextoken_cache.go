package server

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"

	"github.com/flexhooks/flexhooks"
)

// tokenAuth admits Flex plugin calls carrying a valid Flex token and puts the
// flexhooks.Caller it names on the context. Validation is a Twilio IAM round
// trip, which the account pays for and IAM throttles, so each token costs at
// most one IAM call per period:
//
//   - a valid token is remembered until revalidateAfter (then IAM is asked
//     again, so a revoked token or a role taken away stops working) and
//     never past its own expiry;
//   - an invalid or expired one is remembered for rejectTTL, so that a
//     caller repeating a bad token costs nothing;
//   - concurrent validations of one token share one IAM call;
//   - after IAM failed (throttled, down, slow) no IAM call is made for
//     iamBackoff, and a token already validated keeps working until its own
//     expiry: the agents at work are not logged out by an IAM incident.
//
// The caches are keyed by the token's SHA-256: they never hold a usable
// token. Valid and rejected tokens have separate caches, so that a flood of
// bad tokens cannot evict the agents' good ones.
type tokenAuth struct {
	validator TokenValidator
	log       *slog.Logger
	valid     *lru.Cache[[sha256.Size]byte, tokenEntry]
	rejected  *lru.Cache[[sha256.Size]byte, rejection]
	flight    singleflight.Group

	revalidateAfter time.Duration
	timeout         time.Duration    // bounds one shared IAM call
	now             func() time.Time // token expiry and cache ages (the emulator's clock in embedded mode)
	wall            func() time.Time // the IAM back-off, which must pass even on a stopped virtual clock
	holdUntil       atomic.Int64     // wall-clock UnixNano before which IAM is not called
}

type tokenEntry struct {
	caller     flexhooks.Caller
	expires    time.Time // the token's own expiry; zero when IAM did not say
	revalidate time.Time // when IAM is asked again
}

type rejection struct {
	err   *flexhooks.Error
	until time.Time
}

const (
	// rejectTTL is how long an invalid or expired token's refusal is
	// reused. Such a token never becomes valid; the bound only keeps a
	// wrong answer (a Twilio incident answering "invalid") short.
	rejectTTL = 30 * time.Second
	// noExpiryTTL is how long a validation whose expiry IAM did not report
	// is trusted (at most revalidateAfter).
	noExpiryTTL = time.Minute
	// iamBackoff is how long no IAM call is made after one failed. A 429 is
	// account-wide: calling again at once, for this token or another, only
	// adds to it.
	iamBackoff = time.Second
)

type tokenAuthOptions struct {
	size            int
	revalidateAfter time.Duration
	timeout         time.Duration
	now             func() time.Time
	log             *slog.Logger
}

func newTokenAuth(v TokenValidator, o tokenAuthOptions) *tokenAuth {
	valid, err := lru.New[[sha256.Size]byte, tokenEntry](o.size)
	if err != nil { // only for a size ≤ 0, which setDefaults rules out
		panic(err)
	}
	rejected, _ := lru.New[[sha256.Size]byte, rejection](o.size)
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	return &tokenAuth{validator: v, log: o.log, valid: valid, rejected: rejected,
		revalidateAfter: o.revalidateAfter, timeout: o.timeout, now: o.now, wall: time.Now}
}

func (a *tokenAuth) validate(ctx context.Context, token string) (flexhooks.Caller, error) {
	if a.validator == nil {
		return flexhooks.Caller{}, flexhooks.Errorf(flexhooks.EUNAVAILABLE, "Flex token validation is not configured")
	}
	if err := checkTokenShape(token); err != nil {
		return flexhooks.Caller{}, err
	}
	key := sha256.Sum256([]byte(token))
	if caller, ok, err := a.lookup(key); ok {
		return caller, err
	}
	stale, known := a.valid.Peek(key)
	caller, err := a.ask(ctx, key, token)
	if err != nil && known && flexhooks.ErrorCode(err) == flexhooks.EUNAVAILABLE && a.now().Before(stale.expires) {
		a.log.LogAttrs(ctx, slog.LevelWarn, "Twilio IAM unavailable: trusting a Flex token validated before, until its expiry",
			slog.String("workerSid", stale.caller.WorkerSid), slog.Time("expires", stale.expires), slog.String("cause", err.Error()))
		return cloneCaller(stale.caller), nil
	}
	return caller, err
}

// lookup answers from the caches; ok is false when IAM must be asked. A
// cached token past its own expiry is refused as expired without asking.
func (a *tokenAuth) lookup(key [sha256.Size]byte) (flexhooks.Caller, bool, error) {
	now := a.now()
	if e, ok := a.valid.Get(key); ok {
		if !e.expires.IsZero() && !now.Before(e.expires) {
			a.valid.Remove(key)
			return flexhooks.Caller{}, true, a.reject(key, now, flexhooks.Errorf(flexhooks.EFORBIDDEN, "the Flex token has expired"))
		}
		if now.Before(e.revalidate) {
			return cloneCaller(e.caller), true, nil
		}
	}
	if r, ok := a.rejected.Get(key); ok && now.Before(r.until) {
		return flexhooks.Caller{}, true, r.err
	}
	return flexhooks.Caller{}, false, nil
}

// ask validates token with IAM, sharing one call among concurrent askers of
// the same token, and caches the answer. The call runs on a context of its
// own (the first asker's values, not its cancellation), so that one
// caller giving up does not fail the others; each asker still stops
// waiting at its own deadline.
func (a *tokenAuth) ask(ctx context.Context, key [sha256.Size]byte, token string) (flexhooks.Caller, error) {
	if a.wall().UnixNano() < a.holdUntil.Load() {
		return flexhooks.Caller{}, flexhooks.Errorf(flexhooks.EUNAVAILABLE, "Twilio IAM is unavailable or throttling; retry in a second")
	}
	ch := a.flight.DoChan(string(key[:]), func() (any, error) {
		// A call that finished between this asker's lookup and here has
		// already answered.
		if caller, ok, err := a.lookup(key); ok {
			return caller, err
		}
		callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.timeout)
		defer cancel()
		caller, expires, err := a.validator.ValidateFlexToken(callCtx, token)
		return a.record(key, caller, expires, err)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return flexhooks.Caller{}, res.Err
		}
		return cloneCaller(res.Val.(flexhooks.Caller)), nil
	case <-ctx.Done():
		return flexhooks.Caller{}, &flexhooks.Error{Code: flexhooks.EUNAVAILABLE, Message: "Flex token validation did not finish in time", Err: ctx.Err()}
	}
}

// record caches IAM's answer and returns what the askers get.
func (a *tokenAuth) record(key [sha256.Size]byte, caller flexhooks.Caller, expires time.Time, err error) (flexhooks.Caller, error) {
	now := a.now()
	if err != nil {
		switch flexhooks.ErrorCode(err) {
		case flexhooks.EFORBIDDEN:
			a.valid.Remove(key)
			return flexhooks.Caller{}, a.reject(key, now, err)
		case flexhooks.EUNAUTHORIZED:
			// A token was presented: refusing it is 403, not "no credentials".
			a.valid.Remove(key)
			return flexhooks.Caller{}, a.reject(key, now, &flexhooks.Error{Code: flexhooks.EFORBIDDEN, Message: flexhooks.ErrorMessage(err), Err: err})
		case flexhooks.EUNAVAILABLE:
			a.holdUntil.Store(a.wall().Add(iamBackoff).UnixNano())
			return flexhooks.Caller{}, err
		default:
			// Anything unexpected from IAM: fail closed, but as retryable.
			a.holdUntil.Store(a.wall().Add(iamBackoff).UnixNano())
			return flexhooks.Caller{}, &flexhooks.Error{Code: flexhooks.EUNAVAILABLE, Message: "could not validate the Flex token, retry later", Err: err}
		}
	}
	if !expires.IsZero() && !now.Before(expires) {
		a.valid.Remove(key)
		return flexhooks.Caller{}, a.reject(key, now, flexhooks.Errorf(flexhooks.EFORBIDDEN, "the Flex token has expired"))
	}
	revalidate := now.Add(a.revalidateAfter)
	if expires.IsZero() && a.revalidateAfter > noExpiryTTL {
		revalidate = now.Add(noExpiryTTL)
	}
	a.valid.Add(key, tokenEntry{caller: cloneCaller(caller), expires: expires, revalidate: revalidate})
	a.rejected.Remove(key)
	return caller, nil
}

// reject remembers a refusal for rejectTTL and returns it.
func (a *tokenAuth) reject(key [sha256.Size]byte, now time.Time, err error) error {
	fe := &flexhooks.Error{Code: flexhooks.EFORBIDDEN, Message: flexhooks.ErrorMessage(err)}
	var cause *flexhooks.Error
	if errors.As(err, &cause) {
		fe.TwilioCode = cause.TwilioCode
	}
	if fe.Message == "" {
		fe.Message = "invalid Flex token"
	}
	a.rejected.Add(key, rejection{err: fe, until: now.Add(rejectTTL)})
	return fe
}

// cloneCaller keeps handlers from sharing (and racing on) the cached Roles.
func cloneCaller(c flexhooks.Caller) flexhooks.Caller {
	c.Roles = slices.Clone(c.Roles)
	return c
}
