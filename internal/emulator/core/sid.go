package core

import (
	"crypto/md5"
	"encoding/hex"
	"math/rand/v2"
	"strconv"
)

// NewSID returns a random Twilio SID: the two-letter prefix and 32 lower-case
// hex digits, as Twilio makes them.
func NewSID(prefix string) string {
	var b [16]byte
	for i := 0; i < 16; i += 8 {
		v := rand.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return prefix + hex.EncodeToString(b[:])
}

// SeedSID returns a SID derived from a name, so that seeded objects (alice's
// worker, the default workflow…) keep the same SID from one run to the next and
// the README's examples can name them.
func SeedSID(prefix, name string) string {
	sum := md5.Sum([]byte(prefix + ":" + name))
	return prefix + hex.EncodeToString(sum[:])
}

// ValidSID reports whether s is a SID with the given prefix: prefix + 32 hex.
func ValidSID(prefix, s string) bool {
	if len(s) != 34 || s[:2] != prefix {
		return false
	}
	for _, c := range s[2:] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// Itoa is strconv.Itoa, here so product code reads short.
func Itoa(i int) string { return strconv.Itoa(i) }
