package core

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestNewEnvStartsAtTruncatedUTC(t *testing.T) {
	start := time.Date(2026, 1, 1, 1, 2, 3, 456789, time.FixedZone("X", 3600))
	env := NewEnv("AC00000000000000000000000000000000", testToken, start, nil, NewOutbox(testToken, nil))
	assert.Equal(t, time.Date(2026, 1, 1, 0, 2, 3, 0, time.UTC), env.Now())
	assert.Equal(t, time.UTC, env.Now().Location())
}

// firing records which timers fired and what Now() said inside each callback.
type firing struct {
	name string
	now  time.Time
}

func TestClockFiresInTimeThenSchedulingOrder(t *testing.T) {
	env := testEnv()
	env.Lock()
	defer env.Unlock()
	var got []firing
	at := func(d time.Duration, name string) *Timer {
		return env.Schedule(t0.Add(d), func() { got = append(got, firing{name, env.Now()}) })
	}
	at(3*time.Minute, "c")
	at(time.Minute, "a1")
	at(2*time.Minute, "b")
	at(time.Minute, "a2")
	at(10*time.Minute, "late")
	tm := at(90*time.Second, "x")
	assert.Equal(t, t0.Add(90*time.Second), tm.At())

	for _, tc := range []struct {
		name    string
		to      time.Duration
		want    []firing
		wantNow time.Duration
	}{
		{"nothing due yet", 30 * time.Second, nil, 30 * time.Second},
		{"the minute's two, in scheduling order", time.Minute,
			[]firing{{"a1", t0.Add(time.Minute)}, {"a2", t0.Add(time.Minute)}}, time.Minute},
		{"then in time order, Now at each due time", 5 * time.Minute,
			[]firing{{"x", t0.Add(90 * time.Second)}, {"b", t0.Add(2 * time.Minute)}, {"c", t0.Add(3 * time.Minute)}}, 5 * time.Minute},
		{"the clock never goes back", time.Minute, nil, 5 * time.Minute},
		{"exactly at the due time fires", 10 * time.Minute, []firing{{"late", t0.Add(10 * time.Minute)}}, 10 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got = nil
			env.AdvanceTo(t0.Add(tc.to))
			assert.Equal(t, tc.want, got)
			assert.Equal(t, t0.Add(tc.wantNow), env.Now())
		})
	}
}

func TestTimerStop(t *testing.T) {
	for _, tc := range []struct {
		name string
		stop []string
		want []string
	}{
		{"none stopped", nil, []string{"a", "b", "c"}},
		{"one stopped", []string{"b"}, []string{"a", "c"}},
		{"all stopped", []string{"a", "b", "c"}, nil},
		{"stopped twice", []string{"a", "a"}, []string{"b", "c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnv()
			env.Lock()
			defer env.Unlock()
			var got []string
			timers := map[string]*Timer{}
			for i, name := range []string{"a", "b", "c"} {
				timers[name] = env.Schedule(t0.Add(time.Duration(i+1)*time.Second), func() { got = append(got, name) })
			}
			for _, name := range tc.stop {
				timers[name].Stop()
			}
			env.AdvanceTo(t0.Add(time.Hour))
			assert.Equal(t, tc.want, got)
		})
	}

	t.Run("nil and fired timers", func(t *testing.T) {
		env := testEnv()
		env.Lock()
		defer env.Unlock()
		var nilTimer *Timer
		assert.NotPanics(t, nilTimer.Stop)
		n := 0
		tm := env.Schedule(t0.Add(time.Second), func() { n++ })
		env.AdvanceTo(t0.Add(time.Minute))
		tm.Stop()
		env.AdvanceTo(t0.Add(time.Hour))
		assert.Equal(t, 1, n, "a fired timer fires once; stopping it afterwards does nothing")
	})

	t.Run("a callback stops a later timer", func(t *testing.T) {
		env := testEnv()
		env.Lock()
		defer env.Unlock()
		var got []string
		var later *Timer
		env.Schedule(t0.Add(time.Second), func() { got = append(got, "first"); later.Stop() })
		later = env.Schedule(t0.Add(2*time.Second), func() { got = append(got, "later") })
		env.AdvanceTo(t0.Add(time.Minute))
		assert.Equal(t, []string{"first"}, got)
	})
}

func TestTimersScheduledByCallbacks(t *testing.T) {
	env := testEnv()
	env.Lock()
	defer env.Unlock()
	var got []firing
	record := func(name string) func() { return func() { got = append(got, firing{name, env.Now()}) } }

	env.Schedule(t0.Add(time.Minute), func() {
		record("parent")()
		// Within the window: fires during the same AdvanceTo, at its own time.
		env.Schedule(env.Now().Add(time.Minute), record("child"))
		// Same instant as the parent: after the timers already due then.
		env.Schedule(env.Now(), record("same-instant"))
		// In the past: fires at once, and the clock does not go back.
		env.Schedule(t0, record("past"))
		// Beyond the window: waits for the next advance.
		env.Schedule(env.Now().Add(time.Hour), record("beyond"))
	})
	env.Schedule(t0.Add(time.Minute), record("sibling"))

	env.AdvanceTo(t0.Add(5 * time.Minute))
	m := t0.Add(time.Minute)
	// The past timer sorts before everything else in the heap, so it fires
	// right after its parent returns, with Now() where it was.
	assert.Equal(t, []firing{
		{"parent", m}, {"past", m}, {"sibling", m}, {"same-instant", m}, {"child", t0.Add(2 * time.Minute)},
	}, got)
	assert.Equal(t, t0.Add(5*time.Minute), env.Now())

	got = nil
	env.AdvanceTo(t0.Add(2 * time.Hour))
	require.Len(t, got, 1)
	assert.Equal(t, firing{"beyond", t0.Add(61 * time.Minute)}, got[0])
}
