package core

import (
	"encoding/json"
	"github.com/flexhooks/flexhooks/internal/isoduration"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Form reads the request's form-encoded parameters (body for POST, query
// otherwise), as Twilio's REST API takes them.
func Form(r *http.Request) (Params, *Error) {
	if err := r.ParseForm(); err != nil {
		return Params{}, Errf(http.StatusBadRequest, CodeInvalidParameter, "Malformed request body: %v", err)
	}
	return Params{r: r}, nil
}

// Params gives typed access to form parameters, each returning a Twilio-style
// 400 when a value is malformed.
type Params struct{ r *http.Request }

// Has reports whether the parameter was sent at all (even empty).
func (p Params) Has(name string) bool { _, ok := p.r.Form[name]; return ok }

// Get returns the parameter's first value, "" when absent.
func (p Params) Get(name string) string { return p.r.Form.Get(name) }

// All returns every value of a repeated parameter (Configuration.Filters=a&Configuration.Filters=b).
func (p Params) All(name string) []string { return p.r.Form[name] }

// Bool parses true/false; absent yields def.
func (p Params) Bool(name string, def bool) (bool, *Error) {
	s := p.Get(name)
	if s == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return def, BadParam(name, "must be true or false")
	}
	return b, nil
}

// Int parses an integer; absent yields def.
func (p Params) Int(name string, def int) (int, *Error) {
	s := p.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return def, BadParam(name, "must be an integer")
	}
	return n, nil
}

// JSONObject parses a parameter holding a JSON object (Attributes, Routing…);
// absent yields nil. Twilio rejects non-object JSON in these fields.
func (p Params) JSONObject(name string) (map[string]any, *Error) {
	s := p.Get(name)
	if s == "" {
		return nil, nil
	}
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, BadParam(name, "must be a JSON object")
	}
	return m, nil
}

// Duration parses an ISO-8601 duration parameter (PT5M); absent yields 0.
func (p Params) Duration(name string) (time.Duration, *Error) {
	s := p.Get(name)
	if s == "" {
		return 0, nil
	}
	d, err := isoduration.Parse(s)
	if err != nil {
		return 0, BadParam(name, "must be an ISO 8601 duration such as PT5M")
	}
	return d, nil
}
