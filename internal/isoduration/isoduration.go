// Package isoduration parses and formats the ISO-8601 durations Twilio uses
// for conversation timers (PT30M) and that the configuration reuses so an
// operator writes one notation everywhere. The service and the emulator share
// it: it is a leaf that knows neither.
package isoduration

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Parse reads PnW, PnDTnHnMnS and their parts (PT30M, P7D, PT1.5S, P1DT12H).
// Years and months are refused because they have no fixed length; a
// duration with no number, a misplaced T or an overflow is an error.
func Parse(s string) (time.Duration, error) {
	if len(s) < 3 || s[0] != 'P' {
		return 0, fmt.Errorf("%q is not an ISO-8601 duration: it must start with P, e.g. PT30M", s)
	}
	var (
		total  float64 // nanoseconds, float to detect overflow before converting
		inTime bool
		num    strings.Builder
		seen   bool
		last   = -1 // index of the last unit in order, to refuse P1M1D-style reordering
	)
	order := "WDHMS"
	for _, c := range s[1:] {
		switch {
		case c == 'T':
			if inTime || num.Len() > 0 {
				return 0, fmt.Errorf("%q: misplaced T", s)
			}
			inTime = true
		case c >= '0' && c <= '9' || c == '.' || c == ',':
			if c == ',' { // ISO-8601 allows a decimal comma
				c = '.'
			}
			num.WriteRune(c)
		default:
			if num.Len() == 0 {
				return 0, fmt.Errorf("%q: unit %c without a number", s, c)
			}
			v, err := strconv.ParseFloat(num.String(), 64)
			if err != nil {
				return 0, fmt.Errorf("%q: bad number %q", s, num.String())
			}
			var unit time.Duration
			switch {
			case !inTime && c == 'W':
				unit = 7 * 24 * time.Hour
			case !inTime && c == 'D':
				unit = 24 * time.Hour
			case inTime && c == 'H':
				unit = time.Hour
			case inTime && c == 'M':
				unit = time.Minute
			case inTime && c == 'S':
				unit = time.Second
			case !inTime && (c == 'Y' || c == 'M'):
				return 0, fmt.Errorf("%q: years and months have no fixed length; use days (P30D)", s)
			default:
				return 0, fmt.Errorf("%q: unsupported unit %c", s, c)
			}
			i := strings.IndexRune(order, c)
			if i <= last {
				return 0, fmt.Errorf("%q: units out of order", s)
			}
			last = i
			total += v * float64(unit)
			num.Reset()
			seen = true
		}
	}
	if num.Len() > 0 || !seen || (inTime && last < strings.IndexRune(order, 'H')) {
		return 0, fmt.Errorf("%q: incomplete duration", s)
	}
	if total > math.MaxInt64 {
		return 0, errors.New("duration " + strconv.Quote(s) + " is too long")
	}
	return time.Duration(total), nil
}

// Format writes d in the canonical form Twilio accepts: P1DT2H3M4.5S,
// PT30M, PT0S for zero. Negative durations have no ISO-8601 form; they are
// written with a leading minus, which Parse refuses.
func Format(d time.Duration) string {
	if d == 0 {
		return "PT0S"
	}
	var b strings.Builder
	if d < 0 {
		b.WriteByte('-')
		d = -d
	}
	b.WriteByte('P')
	if days := d / (24 * time.Hour); days > 0 {
		b.WriteString(strconv.FormatInt(int64(days), 10))
		b.WriteByte('D')
		d -= days * 24 * time.Hour
	}
	if d == 0 {
		return b.String()
	}
	b.WriteByte('T')
	if h := d / time.Hour; h > 0 {
		b.WriteString(strconv.FormatInt(int64(h), 10))
		b.WriteByte('H')
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 {
		b.WriteString(strconv.FormatInt(int64(m), 10))
		b.WriteByte('M')
		d -= m * time.Minute
	}
	if d > 0 {
		b.WriteString(strconv.FormatFloat(d.Seconds(), 'f', -1, 64))
		b.WriteByte('S')
	}
	return b.String()
}

// Duration is a time.Duration written in ISO-8601. It implements
// encoding.TextUnmarshaler, so envconfig and encoding/json read it.
type Duration time.Duration

// UnmarshalText parses an ISO-8601 duration. Empty text is zero (unset),
// so that an optional variable left empty in an .env file means "off".
func (d *Duration) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = 0
		return nil
	}
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes d in ISO-8601 (Format).
func (d Duration) MarshalText() ([]byte, error) { return []byte(Format(time.Duration(d))), nil }

// String writes d in ISO-8601, or "" for zero so that an unset optional
// duration reads as unset in logs.
func (d Duration) String() string {
	if d == 0 {
		return ""
	}
	return Format(time.Duration(d))
}

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
