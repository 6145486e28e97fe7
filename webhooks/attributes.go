package webhooks

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Conversation attributes are shared by Flex, the plugins and every
// capability of this service, and Twilio replaces them whole on update. Each
// capability therefore owns one key (ParkAttributeKey, TransferAttributeKey,
// InactivityAttributeKey) and writes it with setAttribute, which leaves every
// other key byte for byte as it was. Conversations offers no If-Match on
// attributes, so callers write right after reading: a change another writer
// makes between that read and this write is lost. Keeping the window to one
// round trip makes it rare; it cannot make it impossible.

// setAttribute returns attributes with v (JSON-encoded) under key, or without
// key when v is nil, every other key byte for byte as it was.
func setAttribute(attributes, key string, v any) (string, error) {
	obj, err := attributeObject(attributes)
	if err != nil {
		return "", err
	}
	if v == nil {
		delete(obj, key)
	} else {
		raw, err := json.Marshal(v)
		if err != nil {
			return "", err
		}
		obj[key] = raw
	}
	return encodeObject(obj)
}

var errNotObject = errors.New("conversation attributes are not a JSON object")

// attributeObject parses attributes keeping each value's raw text, so that
// writing them back changes nothing but the key we touch. Twilio returns
// "{}" for unset attributes; "" and "null" are treated the same.
func attributeObject(attributes string) (map[string]json.RawMessage, error) {
	s := strings.TrimSpace(attributes)
	if s == "" || s == "null" {
		return map[string]json.RawMessage{}, nil
	}
	if s[0] != '{' {
		return nil, errNotObject
	}
	obj := map[string]json.RawMessage{}
	if err := json.Unmarshal([]byte(s), &obj); err != nil {
		return nil, fmt.Errorf("%w: %v", errNotObject, err)
	}
	return obj, nil
}

// encodeObject writes the object back; encoding/json sorts keys, which is
// harmless: attribute consumers read JSON, not key order.
func encodeObject(obj map[string]json.RawMessage) (string, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return "", err
	}
	return string(b), nil
}
