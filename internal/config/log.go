package config

import (
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"time"
)

// LogValue prints the effective configuration under the variables' names,
// with secrets masked, so that operators see what the service runs with.
// It walks the struct so that a new field is logged without more code.
func (c Config) LogValue() slog.Value {
	v := reflect.ValueOf(c)
	t := v.Type()
	// Only the variables: whether the service runs on an emulator is the
	// start line's own attribute (serve fills the embedded emulator's
	// credentials in before logging, so no line here could say it right).
	attrs := make([]slog.Attr, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Tag.Get("envconfig")
		fv := v.Field(i).Interface()
		switch {
		case f.Tag.Get("secret") == "true":
			attrs = append(attrs, slog.String(name, Mask(fv.(string))))
		default:
			attrs = append(attrs, slog.String(name, format(fv)))
		}
	}
	return slog.GroupValue(attrs...)
}

// Mask shows whether a secret is set without showing it: "" when unset,
// else "****" and, for long values only, the last two characters so that
// an operator can tell two tokens apart.
func Mask(s string) string {
	switch {
	case s == "":
		return ""
	case len(s) < 16:
		return "****"
	default:
		return "****" + s[len(s)-2:]
	}
}

func format(v any) string {
	switch x := v.(type) {
	case []string:
		return strings.Join(x, ",")
	case time.Duration:
		return x.String()
	case fmt.Stringer:
		return x.String()
	default:
		return fmt.Sprint(x)
	}
}
