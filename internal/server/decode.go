package server

import (
	"encoding"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/flexhooks/flexhooks"
)

type bodyKindT int

const (
	kindForm bodyKindT = iota
	kindJSON
)

// bodyKind tells a JSON body from a form body. A body that is a JSON
// object (it starts with "{" after whitespace and parses) is JSON whatever
// the Content-Type says: curl -d sends any body as
// application/x-www-form-urlencoded, and a plugin's fetch without headers as
// text/plain, and read as a form such a body would answer that the fields it
// carries are missing. No form is a JSON object: a form's first key cannot
// hold an unescaped "{" and a valid JSON object at once. Otherwise the
// Content-Type decides, and the first character when it is missing or
// unhelpful (a JSON array).
func bodyKind(r *http.Request, body []byte) bodyKindT {
	first := firstNonSpace(body)
	if first == '{' && json.Valid(body) {
		return kindJSON
	}
	ct := r.Header.Get("Content-Type")
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(ct)
	switch {
	case strings.EqualFold(ct, "application/x-www-form-urlencoded"):
		return kindForm
	case strings.EqualFold(ct, "application/json"), strings.HasSuffix(strings.ToLower(ct), "+json"):
		return kindJSON
	}
	if first == '{' || first == '[' {
		return kindJSON
	}
	return kindForm
}

// firstNonSpace is the body's first byte that is not JSON whitespace, 0 for none.
func firstNonSpace(body []byte) byte {
	for _, c := range body {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c
	}
	return 0
}

// decodeRequest fills req from the query string, then from the body, which
// overrides it.
func decodeRequest(r *http.Request, req any, dec *formDecoder) error {
	if err := decodeQueryAndBody(r, req, dec); err != nil {
		return err
	}
	return decodePathParams(r, req, dec)
}

// decodePathParams sets the route's path parameters ({conversationSid}…)
// by name, last, so that a body cannot name another resource than the path.
func decodePathParams(r *http.Request, req any, dec *formDecoder) error {
	rc := chi.RouteContext(r.Context())
	if rc == nil || len(rc.URLParams.Keys) == 0 || dec == nil {
		return nil
	}
	params := make([]param, 0, len(rc.URLParams.Keys))
	for i, k := range rc.URLParams.Keys {
		if k == "*" {
			continue
		}
		params = append(params, param{key: k, value: rc.URLParams.Values[i]})
	}
	return dec.decode(params, req)
}

func decodeQueryAndBody(r *http.Request, req any, dec *formDecoder) error {
	if q := r.URL.RawQuery; q != "" && dec != nil {
		values, err := parseForm(q)
		if err != nil {
			return &flexhooks.Error{Code: flexhooks.EINVALID, Message: "malformed query string", Err: err}
		}
		if err := dec.decode(values, req); err != nil {
			return err
		}
	}
	body, err := readBody(r)
	if err != nil || len(body) == 0 {
		return err
	}
	if bodyKind(r, body) == kindJSON {
		if err := json.Unmarshal(body, req); err != nil {
			return jsonError(err)
		}
		return nil
	}
	if dec == nil {
		return flexhooks.Errorf(flexhooks.EINVALID, "this endpoint takes a JSON body")
	}
	form, err := requestForm(r) // parsed already when authentication needed it
	if err != nil {
		return err
	}
	return dec.decode(form, req)
}

// jsonError says what is wrong with a JSON body in the caller's terms.
func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return flexhooks.Invalid(map[string]string{typeErr.Field: "must be " + describeType(typeErr.Type)})
	case errors.As(err, &syntaxErr):
		return &flexhooks.Error{Code: flexhooks.EINVALID, Message: "malformed JSON body", Err: err}
	default:
		// Errors of the flexhooks value types ("must be true or false").
		return &flexhooks.Error{Code: flexhooks.EINVALID, Message: "invalid JSON body: " + err.Error(), Err: err}
	}
}

func describeType(t reflect.Type) string {
	if t == nil {
		return "of another type"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "a " + t.String()
}

// formDecoder sets struct fields from form values named like their json
// tags, so one request type serves form and JSON callers. Its plan is made
// once per request type, when the endpoint is built.
type formDecoder struct {
	fields []formField
	byName map[string]bool // while building: the first field of a name wins
}

type formField struct {
	name  string
	index []int
	multi bool // a []string: takes every value of its name
}

var textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()

// newFormDecoder returns nil for a non-struct type (such endpoints take JSON
// only).
func newFormDecoder(t reflect.Type) *formDecoder {
	if t.Kind() != reflect.Struct {
		return nil
	}
	d := &formDecoder{byName: map[string]bool{}}
	d.add(t, nil)
	return d
}

// add plans t's fields, then its embedded structs' fields, so that an outer
// field shadows an embedded one of the same name, as in encoding/json.
func (d *formDecoder) add(t reflect.Type, index []int) {
	var embedded [][]int
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		// A form tag, when a field has one, names it in forms; otherwise the
		// json tag names it in both encodings.
		tag, ok := f.Tag.Lookup("form")
		if !ok {
			tag = f.Tag.Get("json")
		}
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		idx := append(append([]int(nil), index...), i)
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			// Embedded request parts (a shared Token field…) flatten, as in JSON.
			embedded = append(embedded, idx)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if d.byName[name] {
			continue // the shallower field wins
		}
		d.byName[name] = true
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		multi := ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.String
		d.fields = append(d.fields, formField{name: name, index: idx, multi: multi})
	}
	for _, idx := range embedded {
		d.add(t.FieldByIndex(idx).Type, idx)
	}
}

func (d *formDecoder) decode(form []param, dst any) error {
	rv := reflect.ValueOf(dst).Elem()
	var bad map[string]string
	// Walk the fields, not the form: Twilio sends many parameters a request
	// type ignores.
	for _, f := range d.fields {
		v, ok := formValue(form, f.name)
		if !ok {
			continue
		}
		var all []string
		if f.multi {
			all = formValues(form, f.name)
		}
		if err := setField(rv.FieldByIndex(f.index), v, all); err != nil {
			if bad == nil {
				bad = map[string]string{}
			}
			bad[f.name] = err.Error()
		}
	}
	if bad != nil {
		return flexhooks.Invalid(bad)
	}
	return nil
}

// setField sets fv from the first form value v of its name: scalars
// directly, text types through UnmarshalText, []string from all the values
// (or a JSON array), and structured fields (structs, maps, other slices) from
// JSON text, which is how forms carry them (jsonAttributes, Payload).
func setField(fv reflect.Value, v string, all []string) error {
	if fv.Kind() == reflect.Pointer {
		if fv.IsNil() {
			fv.Set(reflect.New(fv.Type().Elem()))
		}
		fv = fv.Elem()
	}
	if reflect.PointerTo(fv.Type()).Implements(textUnmarshalerType) {
		return fv.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(v))
	}
	switch fv.Kind() {
	case reflect.String:
		fv.SetString(v)
	case reflect.Bool:
		var b flexhooks.Bool
		if err := b.UnmarshalText([]byte(v)); err != nil {
			return err
		}
		fv.SetBool(bool(b))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v == "" {
			return nil
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, fv.Type().Bits())
		if err != nil {
			return errors.New("must be an integer")
		}
		fv.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if v == "" {
			return nil
		}
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, fv.Type().Bits())
		if err != nil {
			return errors.New("must be a non-negative integer")
		}
		fv.SetUint(n)
	case reflect.Float32, reflect.Float64:
		if v == "" {
			return nil
		}
		n, err := strconv.ParseFloat(strings.TrimSpace(v), fv.Type().Bits())
		if err != nil {
			return errors.New("must be a number")
		}
		fv.SetFloat(n)
	case reflect.Slice:
		if fv.Type().Elem().Kind() == reflect.String && !(len(all) == 1 && strings.HasPrefix(strings.TrimSpace(v), "[")) {
			fv.Set(reflect.ValueOf(all).Convert(fv.Type()))
			return nil
		}
		return setJSON(fv, v)
	case reflect.Struct, reflect.Map, reflect.Interface, reflect.Array:
		return setJSON(fv, v)
	default:
		return errors.New("cannot be set from a form")
	}
	return nil
}

func setJSON(fv reflect.Value, v string) error {
	if strings.TrimSpace(v) == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(v), fv.Addr().Interface()); err != nil {
		return errors.New("must be JSON (" + describeType(fv.Type()) + ")")
	}
	return nil
}
