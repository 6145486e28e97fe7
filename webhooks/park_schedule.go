package webhooks

import (
	"fmt"
	"strings"
	"time"

	"github.com/flexhooks/flexhooks/internal/isoduration"
)

// minSnooze is the shortest snooze: the sweeper fires schedules when it
// runs (SWEEP_INTERVAL, 1 minute by default), so a shorter one would
// promise a precision it cannot keep.
const minSnooze = time.Minute

// parseUnparkAt reads a park's unparkAt: an RFC 3339 time or an ISO-8601
// duration from now. Empty is no schedule (zero time). It must be at least
// a minute ahead and, when maxAge is set, before the park expires.
func parseUnparkAt(s string, now time.Time, maxAge time.Duration) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	var at time.Time
	if strings.HasPrefix(strings.ToUpper(s), "P") {
		d, err := isoduration.Parse(s)
		if err != nil {
			return time.Time{}, fmt.Errorf("want an RFC 3339 time or an ISO-8601 duration such as PT2H: %v", err)
		}
		at = now.Add(d)
	} else {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("want an RFC 3339 time such as 2026-12-05T09:00:00Z or an ISO-8601 duration such as PT2H")
		}
		at = t.UTC()
	}
	switch {
	case at.Sub(now) < minSnooze:
		return time.Time{}, fmt.Errorf("must be at least a minute from now (it is %s)", at.Format(time.RFC3339))
	case maxAge > 0 && at.Sub(now) >= maxAge:
		return time.Time{}, fmt.Errorf("must be before the park expires (PARK_MAX_AGE %s after parking)", isoduration.Format(maxAge))
	}
	return at.Truncate(time.Second), nil
}

// formatOptionalTime is t in RFC 3339, or "" for the zero time.
func formatOptionalTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
