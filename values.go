package flexhooks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// The value types below exist because the same request arrives in two
// encodings: Flex plugins post form-encoded bodies (every value a string) or
// JSON (typed values). A request field declared with one of these types
// decodes the same from both, so one request struct serves every caller.

// Bool is a boolean that also accepts the strings a form carries ("true",
// "false", "1", "0", "yes", "no", "on", "off", "" as false) and, in JSON, a
// real boolean, one of those strings, or null.
type Bool bool

// UnmarshalText decodes a form value.
func (b *Bool) UnmarshalText(text []byte) error {
	switch strings.ToLower(strings.TrimSpace(string(text))) {
	case "true", "1", "yes", "on":
		*b = true
	case "false", "0", "no", "off", "":
		*b = false
	default:
		return errors.New("must be true or false")
	}
	return nil
}

// UnmarshalJSON decodes true, false, null or a string form of them.
func (b *Bool) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	switch string(data) {
	case "true":
		*b = true
		return nil
	case "false", "null":
		*b = false
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return errors.New("must be true or false")
	}
	return b.UnmarshalText([]byte(s))
}

// MarshalJSON writes a JSON boolean, whatever the input encoding was.
func (b Bool) MarshalJSON() ([]byte, error) {
	if b {
		return []byte("true"), nil
	}
	return []byte("false"), nil
}

// JSON is a JSON value (typically an object such as taskAttributes) that
// callers send either as JSON text inside a string — the only way a form can
// carry it, and what Flex plugins do even in JSON bodies — or, in a JSON
// body, directly as a value. Either way it holds the compact JSON text of the
// value; empty means absent (or null, or an empty string).
type JSON []byte

// UnmarshalText decodes a form value holding JSON text.
func (j *JSON) UnmarshalText(text []byte) error {
	return j.set(text)
}

// UnmarshalJSON accepts a value, or a string holding JSON text.
func (j *JSON) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		return j.set([]byte(s))
	}
	return j.set(data)
}

func (j *JSON) set(text []byte) error {
	text = bytes.TrimSpace(text)
	if len(text) == 0 || string(text) == "null" {
		*j = nil
		return nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, text); err != nil {
		return errors.New("must be valid JSON")
	}
	*j = buf.Bytes()
	return nil
}

// MarshalJSON writes the value itself (null when empty), not a string.
func (j JSON) MarshalJSON() ([]byte, error) {
	if len(j) == 0 {
		return []byte("null"), nil
	}
	return []byte(j), nil
}

// String returns the JSON text ("" when empty), the form Twilio's APIs take
// attributes in.
func (j JSON) String() string { return string(j) }

// IsZero reports whether no value was given.
func (j JSON) IsZero() bool { return len(j) == 0 }

// Decode unmarshals the value into v. Numbers decode as json.Number when v
// holds interfaces, so that large integers in attributes survive a round trip.
func (j JSON) Decode(v any) error {
	if len(j) == 0 {
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(j))
	d.UseNumber()
	return d.Decode(v)
}

// Object decodes the value as a JSON object; an empty value is an empty,
// non-nil map so callers can add keys to it.
func (j JSON) Object() (map[string]any, error) {
	m := map[string]any{}
	if len(j) == 0 {
		return m, nil
	}
	if err := j.Decode(&m); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if m == nil { // the text was "null"-like after all
		m = map[string]any{}
	}
	return m, nil
}

// NoContent is the response of an operation that has nothing to say: the
// HTTP layer answers 204 with no body. Webhook handlers return it for events
// they acknowledge and ignore.
type NoContent struct{}
