package server

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// parseForm must read what url.ParseQuery reads.
func TestParseFormMatchesNetURL(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"", "a=1", "a=1&b=2&a=3", "a", "a=", "=v", "&&a=1&&", "k%20x=v+w%2Bz", "Body=Hello%2C+world%21&To=%2B15555550100",
		"Attributes=%7B%22a%22%3A1%7D", "a=%zz", "a=1;b=2",
	} {
		want, wantErr := url.ParseQuery(in)
		got, err := parseForm(in)
		if wantErr != nil {
			assert.Error(t, err, in)
			continue
		}
		require.NoError(t, err, in)
		gotValues := url.Values{}
		for _, p := range got {
			gotValues[p.key] = append(gotValues[p.key], p.value)
		}
		assert.Equal(t, want, gotValues, in)
	}
	_, err := parseForm(strings.Repeat("a=1&", maxFormParams+1))
	assert.Error(t, err)
}
