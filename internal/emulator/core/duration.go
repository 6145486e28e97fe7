package core

import (
	"errors"
	"strconv"
	"time"
)

// ParseISODuration parses the ISO-8601 durations Twilio accepts for timers and
// the control API: PnDTnHnMnS with optional weeks (PnW). Years and months have
// no fixed length and are refused.
func ParseISODuration(s string) (time.Duration, error) {
	if len(s) < 3 || s[0] != 'P' {
		return 0, errors.New("duration must start with P")
	}
	var total time.Duration
	inTime := false
	num := ""
	seen := false
	for _, c := range s[1:] {
		switch {
		case c == 'T':
			if inTime || num != "" {
				return 0, errors.New("misplaced T")
			}
			inTime = true
		case c >= '0' && c <= '9' || c == '.':
			num += string(c)
		default:
			if num == "" {
				return 0, errors.New("unit without a number")
			}
			v, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, err
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
			default:
				return 0, errors.New("unsupported unit " + string(c))
			}
			total += time.Duration(v * float64(unit))
			num = ""
			seen = true
		}
	}
	if num != "" || !seen {
		return 0, errors.New("incomplete duration")
	}
	return total, nil
}
