package config

import (
	"bufio"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEnvExample keeps .env.example in step with Config: every variable is
// documented (set or commented out, after a comment line) and the file as
// shipped loads without problems.
func TestEnvExample(t *testing.T) {
	f, err := os.Open("../../.env.example")
	require.NoError(t, err)
	defer f.Close()

	clearEnv(t)
	documented := map[string]bool{}
	prevComment := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		active := !strings.HasPrefix(line, "#")
		name, value, ok := strings.Cut(strings.TrimSpace(strings.TrimPrefix(line, "#")), "=")
		if ok && !strings.Contains(name, " ") && name != "" {
			assert.True(t, prevComment, "%s has no comment line above it", name)
			documented[name] = true
			if active {
				t.Setenv(name, value)
			}
			continue
		}
		prevComment = strings.HasPrefix(line, "#")
	}
	require.NoError(t, sc.Err())

	ct := reflect.TypeFor[Config]()
	for i := range ct.NumField() {
		name := ct.Field(i).Tag.Get("envconfig")
		assert.True(t, documented[name], "%s is not in .env.example", name)
	}
	_, err = Load()
	assert.NoError(t, err)
}
