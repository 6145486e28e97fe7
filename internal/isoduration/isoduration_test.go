package isoduration

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"PT30M", 30 * time.Minute},
		{"PT1M", time.Minute},
		{"P7D", 7 * 24 * time.Hour},
		{"P1W", 7 * 24 * time.Hour},
		{"P1DT12H", 36 * time.Hour},
		{"PT1H30M15S", time.Hour + 30*time.Minute + 15*time.Second},
		{"PT1.5S", 1500 * time.Millisecond},
		{"PT0,5S", 500 * time.Millisecond},
		{"PT0S", 0},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Parse(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{"", "P", "PT", "30M", "PT30", "P1M", "P1Y", "PT1D", "P1H", "PTT1M", "P1DT", "PT1S1M", "PT1..2S", "P999999999999D", "-PT1M"} {
		t.Run(in, func(t *testing.T) {
			_, err := Parse(in)
			assert.Error(t, err)
		})
	}
}

func TestFormatRoundTrip(t *testing.T) {
	for _, d := range []time.Duration{0, time.Second, 90 * time.Second, 30 * time.Minute, 36 * time.Hour, 7 * 24 * time.Hour, 1500 * time.Millisecond, 25*time.Hour + time.Minute + time.Second} {
		s := Format(d)
		got, err := Parse(s)
		require.NoError(t, err, s)
		assert.Equal(t, d, got, s)
	}
	assert.Equal(t, "PT30M", Format(30*time.Minute))
	assert.Equal(t, "P7D", Format(7*24*time.Hour))
	assert.Equal(t, "P1DT1H", Format(25*time.Hour))
}

func TestDurationText(t *testing.T) {
	var d Duration
	require.NoError(t, d.UnmarshalText([]byte("PT5M")))
	assert.Equal(t, 5*time.Minute, d.D())
	assert.Equal(t, "PT5M", d.String())
	assert.Equal(t, "", Duration(0).String())
	assert.Error(t, d.UnmarshalText([]byte("5m")))
	require.NoError(t, d.UnmarshalText(nil))
	assert.Zero(t, d)
}
