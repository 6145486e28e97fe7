package emulator

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
)

// hitsFor plays the same 200 calls, with fresh SIDs and shard suffixes, on a
// fault set with one rate rule, and returns which were hit.
func hitsFor(t *testing.T, rule Fault) []bool {
	t.Helper()
	var f faultSet
	require.NoError(t, f.set([]Fault{rule}))
	var hits []bool
	for i := range 200 {
		shard := []string{"3", "a", "f0"}[i%3]
		path := "/v1/Services/" + core.NewSID("IS") + "/Maps/flexhooks_parks_" + shard + "/Items/" + core.NewSID("CH")
		if i%2 == 0 {
			path = "/v1/Conversations/" + core.NewSID("CH") + "/Webhooks"
		}
		hits = append(hits, f.match("sync.twilio.com", "POST", path) != nil)
	}
	return hits
}

func TestSeededFaultsReplayAcrossRuns(t *testing.T) {
	count := func(hits []bool) (n int) {
		for _, h := range hits {
			if h {
				n++
			}
		}
		return n
	}
	seeded := Fault{Status: 500, Rate: 0.3, Seed: 7}
	first, again := hitsFor(t, seeded), hitsFor(t, seeded)
	assert.Equal(t, first, again, "one seed, the same calls: the same faults, whatever the SIDs")
	assert.InDelta(t, 60, count(first), 25, "a rate of 0.3 hits about 60 of 200 calls")

	other := hitsFor(t, Fault{Status: 500, Rate: 0.3, Seed: 8})
	assert.NotEqual(t, first, other, "another seed, other faults")

	unseeded := Fault{Status: 500, Rate: 0.3}
	assert.NotEqual(t, hitsFor(t, unseeded), hitsFor(t, unseeded), "no seed: random draws (fails once in 2^200)")
}

func TestCallShapeBlanksWhatDiffersBetweenRuns(t *testing.T) {
	for path, want := range map[string]string{
		"/v1/Conversations/CH0123456789abcdef0123456789abcdef/Webhooks": "/v1/Conversations/*/Webhooks",
		"/v1/Services/default/Maps/flexhooks_parks_a/Items/lock%3Ax":    "/v1/Services/default/Maps/flexhooks_parks*/Items/lock%3Ax",
		"/v1/Services/default/Maps/flexhooks_inactivity_3f":             "/v1/Services/default/Maps/flexhooks_inactivity*",
		"/v1/Services/default/Maps/flexhooks_counters":                  "/v1/Services/default/Maps/flexhooks_counters",
	} {
		assert.Equal(t, want, callShape(path), path)
	}
}
