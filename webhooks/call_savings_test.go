package webhooks

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestProfileMixChoosesTheCheaperOrder(t *testing.T) {
	tests := []struct {
		name          string
		fresh, known  int
		wantMostlyNew bool
	}{
		{"nothing seen: a new deployment's customers are new", 0, 0, true},
		{"all new", 10, 0, true},
		{"half new: even, create first", 5, 5, true},
		{"mostly returning", 4, 6, false},
		{"all returning", 0, 10, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m profileMix
			for range tt.fresh {
				m.saw(true)
			}
			for range tt.known {
				m.saw(false)
			}
			assert.Equal(t, tt.wantMostlyNew, m.mostlyNew())
		})
	}
}

func TestProfileMixFollowsTheRecentPast(t *testing.T) {
	var m profileMix
	for range 600 {
		m.saw(false)
	}
	assert.False(t, m.mostlyNew())
	for range 600 {
		m.saw(true)
	}
	assert.True(t, m.mostlyNew(), "the tally halves, so a change of mix is followed")
}

func TestWrittenRecordsTrustsOnlyAYoungCreate(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		at   time.Time
		want bool
	}{
		{"at once", t0, true},
		{"an hour on", t0.Add(time.Hour), true},
		{"an event that carries an earlier time", t0.Add(-time.Minute), true},
		{"a day on: the record may be near its TTL, create again", t0.Add(writtenMemory), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w writtenRecords
			w.remember("CH1", t0)
			assert.Equal(t, tt.want, w.known("CH1", tt.at))
			assert.False(t, w.known("CH2", tt.at), "another conversation")
		})
	}
}

func TestWrittenRecordsIsBounded(t *testing.T) {
	var w writtenRecords
	t0 := time.Now()
	for i := range writtenLimit {
		w.remember(string(rune(i)), t0)
	}
	w.remember("last", t0)
	assert.LessOrEqual(t, len(w.at), writtenLimit)
	assert.True(t, w.known("last", t0))
}
