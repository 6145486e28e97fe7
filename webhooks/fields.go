package webhooks

import "github.com/flexhooks/flexhooks"

// The request field types below decode like flexhooks.JSON and
// flexhooks.Bool, but keep a malformed value's error for validate instead of
// failing the decode: a 400 then names every bad field at once, not only the
// first one the decoder met.

// jsonField is a flexhooks.JSON request field.
type jsonField struct {
	flexhooks.JSON
	err error
}

func (j *jsonField) UnmarshalText(b []byte) error { j.err = j.JSON.UnmarshalText(b); return nil }
func (j *jsonField) UnmarshalJSON(b []byte) error { j.err = j.JSON.UnmarshalJSON(b); return nil }

// boolField is a flexhooks.Bool request field.
type boolField struct {
	flexhooks.Bool
	err error
}

func (v *boolField) UnmarshalText(b []byte) error { v.err = v.Bool.UnmarshalText(b); return nil }
func (v *boolField) UnmarshalJSON(b []byte) error { v.err = v.Bool.UnmarshalJSON(b); return nil }

// check records a decoding error of a field.
func (f fieldErrors) check(name string, err error) {
	if err != nil {
		f[name] = err.Error()
	}
}
