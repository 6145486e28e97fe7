package webhooks

import (
	"fmt"
	"strings"

	"github.com/flexhooks/flexhooks"
)

// fieldErrors collects what is wrong with a request, one entry per field,
// so that one 400 names every problem at once.
type fieldErrors map[string]string

// sid checks a required SID.
func (f fieldErrors) sid(name, value, prefix string) {
	if value == "" {
		f[name] = "required"
		return
	}
	f.optionalSID(name, value, prefix)
}

// optionalSID checks a SID that may be absent.
func (f fieldErrors) optionalSID(name, value, prefix string) {
	if value != "" && !validSID(prefix, value) {
		f[name] = fmt.Sprintf("must be %s followed by 32 hex digits", prefix)
	}
}

func (f fieldErrors) required(name, value string) {
	if strings.TrimSpace(value) == "" {
		f[name] = "required"
	}
}

// err returns the EINVALID error naming every field, or nil.
func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	return flexhooks.Invalid(f)
}

// validSID reports whether s is prefix followed by 32 lowercase or
// uppercase hex digits, the shape of every Twilio SID.
func validSID(prefix, s string) bool {
	if len(s) != len(prefix)+32 || !strings.HasPrefix(s, prefix) {
		return false
	}
	for _, c := range s[len(prefix):] {
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
		default:
			return false
		}
	}
	return true
}
