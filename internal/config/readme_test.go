package config

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var updateREADME = flag.Bool("update-readme", false, "rewrite README.md's configuration table from Config and .env.example")

const (
	tableBegin = "<!-- config table: generated from internal/config by `go test ./internal/config -run TestREADMEConfigTable -update-readme`; do not edit -->"
	tableEnd   = "<!-- end of config table -->"
)

// TestREADMEConfigTable keeps the README's configuration table equal to the
// real defaults (Config's `default` tags), the embedded demo's values
// (`demo` tags) and .env.example's descriptions: a default changed in code
// and not in the README fails here.
func TestREADMEConfigTable(t *testing.T) {
	want := configTable(t)
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	before, rest, ok := strings.Cut(string(readme), tableBegin+"\n")
	require.True(t, ok, "README.md has no %q marker", tableBegin)
	got, after, ok := strings.Cut(rest, tableEnd)
	require.True(t, ok, "README.md has no %q marker", tableEnd)
	if *updateREADME {
		require.NoError(t, os.WriteFile("../../README.md", []byte(before+tableBegin+"\n"+want+tableEnd+after), 0o644))
		return
	}
	assert.Equal(t, want, got, "README.md's configuration table is stale: run go test ./internal/config -run TestREADMEConfigTable -update-readme")
}

// configTable renders the table: one row per variable, in Config's order.
func configTable(t *testing.T) string {
	desc := envExampleDescriptions(t)
	var b strings.Builder
	b.WriteString("| variable | default | `make run` (embedded emulator) | what |\n|---|---|---|---|\n")
	ct := reflect.TypeFor[Config]()
	for i := range ct.NumField() {
		f := ct.Field(i)
		name := f.Tag.Get("envconfig")
		def := cell(f.Tag.Get("default"))
		demo := "same"
		if v, ok := f.Tag.Lookup("demo"); ok {
			demo = cell(v)
		}
		switch name {
		case "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN":
			demo = "the local emulator's fixed pair"
		case "TWILIO_FLEX_WORKSPACE_SID", "TWILIO_FLEX_CHAT_SERVICE_SID", "TWILIO_FLEX_CHAT_TRANSFER_WORKFLOW_SID":
			demo = "the emulator's"
		case "PUBLIC_BASE_URL":
			def, demo = "", "`http://localhost:<ADDR's port>`"
		}
		require.NotEmpty(t, desc[name], "%s has no description in .env.example", name)
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", name, def, demo, desc[name])
	}
	return b.String()
}

func cell(v string) string {
	if v == "" {
		return ""
	}
	return "`" + v + "`"
}

// envExampleDescriptions maps each variable to the comment above it in
// .env.example (a run of variables shares the comment above the first).
func envExampleDescriptions(t *testing.T) map[string]string {
	f, err := os.Open("../../.env.example")
	require.NoError(t, err)
	defer f.Close()
	out := map[string]string{}
	var comment []string
	prevWasVar := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		text := strings.TrimSpace(strings.TrimPrefix(line, "#"))
		name, _, isVar := strings.Cut(text, "=")
		switch {
		case isVar && name != "" && !strings.Contains(name, " "):
			out[name] = strings.ReplaceAll(strings.Join(comment, " "), "|", "\\|")
			prevWasVar = true
		case strings.HasPrefix(line, "#") && !strings.HasPrefix(text, "---"):
			if prevWasVar {
				comment = nil
			}
			comment = append(comment, text)
			prevWasVar = false
		default:
			comment, prevWasVar = nil, false
		}
	}
	require.NoError(t, sc.Err())
	return out
}
