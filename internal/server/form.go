package server

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/flexhooks/flexhooks"
)

// maxFormParams bounds the pairs of one form, as net/url does (10000 by
// default since Go 1.24): quadratic work on a hostile body stays bounded.
const maxFormParams = 10000

// param is one name=value pair of a form-encoded body or query string.
type param struct {
	key, value string
}

// parseForm parses form encoding as url.ParseQuery does, but into the pairs
// in the order sent rather than a map of slices. Signature checking wants
// them sorted anyway, decoding only looks a few names up, and unescaped
// names and values stay substrings of s: a webhook's twenty parameters cost
// one allocation instead of sixty.
func parseForm(s string) ([]param, error) {
	n := strings.Count(s, "&") + 1
	if n > maxFormParams {
		return nil, errors.New("too many parameters")
	}
	ps := make([]param, 0, min(n, 64)) // a guess, not a promise the sender makes
	for s != "" {
		var kv string
		kv, s, _ = strings.Cut(s, "&")
		if strings.Contains(kv, ";") {
			return nil, errors.New("invalid semicolon separator")
		}
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		k, err := unescape(k)
		if err != nil {
			return nil, err
		}
		if v, err = unescape(v); err != nil {
			return nil, err
		}
		ps = append(ps, param{k, v})
	}
	return ps, nil
}

// unescape is url.QueryUnescape with a vectorised test for the common case
// of nothing to unescape (SIDs, event names), where it was the hottest part
// of signature checking.
func unescape(s string) (string, error) {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s, nil
	}
	return url.QueryUnescape(s)
}

// requestForm returns the request's form-encoded body as pairs, parsing it
// once per request: authentication needs it before the handler does.
func requestForm(r *http.Request) ([]param, error) {
	st := stateFrom(r.Context())
	if st != nil && st.formParsed {
		return st.form, st.formErr
	}
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	form, err := parseForm(string(body))
	if err != nil {
		err = &flexhooks.Error{Code: flexhooks.EINVALID, Message: "malformed form body", Err: err}
		form = nil
	}
	if st != nil {
		st.formParsed, st.form, st.formErr = true, form, err
	}
	return form, err
}

// formValue returns the first value named name, matched exactly, else in
// any case (as encoding/json matches names).
func formValue(form []param, name string) (string, bool) {
	for _, p := range form {
		if p.key == name {
			return p.value, true
		}
	}
	for _, p := range form {
		if strings.EqualFold(p.key, name) {
			return p.value, true
		}
	}
	return "", false
}

// formValues returns every value named name (exactly, else in any case).
func formValues(form []param, name string) []string {
	var vals []string
	for _, p := range form {
		if p.key == name {
			vals = append(vals, p.value)
		}
	}
	if vals != nil {
		return vals
	}
	for _, p := range form {
		if strings.EqualFold(p.key, name) {
			vals = append(vals, p.value)
		}
	}
	return vals
}
