package expr

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// decode builds an env the way TaskRouter stores see attributes: JSON.
func decode(t testing.TB, s string, useNumber bool) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	if useNumber {
		d.UseNumber()
	}
	var m map[string]any
	require.NoError(t, d.Decode(&m))
	return m
}

const taskJSON = `{
	"type": "support",
	"transferTargetType": "worker",
	"channelType": "whatsapp",
	"priority": 5,
	"score": 4.5,
	"vip": true,
	"name": "Ann O'Neil",
	"from": "whatsapp:+15551234567",
	"tags": ["billing", "urgent-ish", 7],
	"workerSidsInConversation": ["WK1", "WK2"],
	"originalRouting": {"workerSid": "WK9", "queueName": "Support"},
	"routing": {"skills": ["support", "english"], "levels": {"support": 3}},
	"nothing": null,
	"a": 1, "b": 2, "c": 3
}`

func TestParseCanonical(t *testing.T) {
	tests := []struct{ src, want string }{
		{`1==1`, `1 == 1`},
		{`1 = 1`, `1 == 1`},
		{`transferTargetType == "worker"`, `transferTargetType == "worker"`},
		{`type == 'support'`, `type == "support"`},
		{`worker.sid NOT IN task.workerSidsInConversation`, `worker.sid NOT IN task.workerSidsInConversation`},
		{`worker.sid not in task.workerSidsInConversation`, `worker.sid NOT IN task.workerSidsInConversation`},
		{`routing.skills HAS "support"`, `routing.skills HAS "support"`},
		{`routing.skills -> "support"`, `routing.skills HAS "support"`},
		{`name ** 'Ann'`, `name CONTAINS "Ann"`},
		{`channelType IN ['sms','whatsapp']`, `channelType IN ["sms", "whatsapp"]`},
		{`channelType in []`, `channelType IN []`},
		{`(a == 1 OR b == 2) AND NOT c == 3`, `(a == 1 OR b == 2) AND NOT c == 3`},
		{`a == 1 && b == 2 || c == 3`, `a == 1 AND b == 2 OR c == 3`},
		{`a==1 and b==2 Or c==3`, `a == 1 AND b == 2 OR c == 3`},
		{`tags[0] == 'billing'`, `tags[0] == "billing"`},
		{`originalRouting['workerSid'] == 'WK9'`, `originalRouting.workerSid == "WK9"`},
		{`x['a b'] == 1`, `x["a b"] == 1`},
		{`task.in == 1`, `task.in == 1`},
		{`task.null == 1`, `task.null == 1`},
		{`score >= 4.50`, `score >= 4.5`},
		{`a > -1.5e2`, `a > -150`},
		{`a < .5`, `a < 0.5`},
		{`vip == TRUE`, `vip == true`},
		{`name == "say \"hi\""`, `name == "say \"hi\""`},
		{`name == 'it\'s'`, `name == "it's"`},
		{`tags NOT HAS 'x' AND name NOT CONTAINS 'y'`, `tags NOT HAS "x" AND name NOT CONTAINS "y"`},
		{`NOT NOT vip`, `NOT NOT vip`},
		{`((vip))`, `((vip))`},
		{`a <= 1 OR a != 2`, `a <= 1 OR a != 2`},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			e, err := Parse(tt.src)
			require.NoError(t, err)
			assert.Equal(t, tt.want, e.String())
			assert.Equal(t, tt.src, e.Source())
			again, err := Parse(e.String())
			require.NoError(t, err)
			assert.Equal(t, tt.want, again.String(), "canonical form is stable")
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		src     string
		pos     int
		contain string
	}{
		{``, 0, "empty expression"},
		{`   `, 0, "empty expression"},
		{`a ==`, 4, "expected a value"},
		{`== 1`, 0, "expected a value"},
		{`(a == 1`, 7, "expected ) to close ( at position 0"},
		{`a == 1)`, 6, `unexpected ")"`},
		{`a == 'x`, 5, "unterminated string"},
		{`a == "x\`, 5, "unterminated string"},
		{`a IN ['x' 'y']`, 10, "expected , or ]"},
		{`a NOT == 1`, 6, "expected IN, HAS or CONTAINS after NOT"},
		{`first-name == 'x'`, 5, "hyphens"},
		{`x == null`, 5, "null is not a TaskRouter constant"},
		{`task.list == NULL OR a == 1`, 13, "null is not a TaskRouter constant"},
		{`null`, 0, "null is not a TaskRouter constant"},
		{`a == 1 == 2`, 7, `unexpected "=="`},
		{`a == 1 b == 2`, 7, `unexpected identifier "b"`},
		{`a.`, 2, "expected a key after '.'"},
		{`a[-1] == 1`, 2, "non-negative integer"},
		{`a[1.5] == 1`, 2, "non-negative integer"},
		{`a[b] == 1`, 2, "expected an index or a quoted key"},
		{`a[0 == 1`, 4, "expected ]"},
		{`a == 1e999`, 5, "out of range"},
		{`a == 12abc`, 7, "after number"},
		{`a == 1e`, 5, "exponent"},
		{`a # 1`, 2, "unexpected character '#'"},
		{`a == 1 AND`, 10, "expected a value, found end"},
		{strings.Repeat("(", 500) + "1==1" + strings.Repeat(")", 500), 200, "nested too deeply"},
		{strings.Repeat("NOT ", 300) + "a", 800, "nested too deeply"},
	}
	for _, tt := range tests {
		name := tt.src
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			_, err := Parse(tt.src)
			require.Error(t, err)
			var se *SyntaxError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tt.pos, se.Pos, err.Error())
			assert.Contains(t, err.Error(), tt.contain)
			assert.Contains(t, err.Error(), "position")
		})
	}
}

func TestMatch(t *testing.T) {
	task := decode(t, taskJSON, false)
	// Flex workflow filters see the task attributes at the top level and
	// under "task"; target expressions see "worker".
	env := map[string]any{"task": task, "worker": map[string]any{
		"sid": "WK3", "friendly_name": "carol",
		"routing": map[string]any{"skills": []string{"sales"}},
	}}
	for k, v := range task {
		env[k] = v
	}
	tests := []struct {
		src  string
		want bool
	}{
		// Real Flex workflow filters.
		{`transferTargetType == "worker"`, true},
		{`transferTargetType == "queue"`, false},
		{`worker.sid NOT IN task.workerSidsInConversation`, true},
		{`worker.sid IN task.workerSidsInConversation`, false},
		{`routing.skills HAS "support"`, true},
		{`routing.skills HAS "sales"`, false},
		{`worker.routing.skills HAS "sales"`, true},
		{`channelType IN ['sms','whatsapp']`, true},
		{`channelType IN ['sms','chat']`, false},
		{`channelType NOT IN ['sms','chat']`, true},
		{`(a == 1 OR b == 2) AND NOT c == 3`, false},
		{`(a == 1 OR b == 2) AND NOT c == 4`, true},
		{`task.originalRouting.workerSid == 'WK9'`, true},
		{`originalRouting.queueName == "Support" AND type == "support"`, true},
		{`1==1`, true},
		{`1 == 2`, false},
		{`true`, true},
		{`false OR vip`, true},
		// Precedence: AND binds tighter than OR.
		{`a == 1 OR a == 2 AND b == 3`, true},
		{`(a == 1 OR a == 2) AND b == 3`, false},
		{`NOT (a == 1 OR b == 5)`, false},
		// Numbers.
		{`priority > 4`, true},
		{`priority >= 5 AND priority <= 5`, true},
		{`priority < 5`, false},
		{`score > 4.4 AND score < 4.6`, true},
		{`priority == 5.0`, true},
		{`priority == "5"`, false}, // no coercion between types
		{`routing.levels.support >= 3`, true},
		// Strings.
		{`name CONTAINS "O'Neil"`, true},
		{`from CONTAINS 'whatsapp:'`, true},
		{`from NOT CONTAINS 'sms:'`, true},
		{`tags CONTAINS 'ish'`, true},
		{`name CONTAINS 1`, false},
		{`type > "a" AND type < "z"`, true},
		{`type == "Support"`, false}, // case-sensitive values
		{`type != "sales"`, true},
		// Lists.
		{`tags HAS 7`, true},
		{`tags NOT HAS 'billing'`, false},
		{`tags[1] == 'urgent-ish'`, true},
		{`tags[9] == 'x'`, false},
		{`tags IN ['urgent-ish', 'other']`, true},
		{`type HAS 's'`, false}, // HAS needs a list
		{`'b' IN 'abc'`, false}, // IN needs a list
		{`routing.skills == ['support', 'english']`, true},
		{`[1, 2] == [1, 2.0]`, true},
		{`vip == true AND vip != false`, true},
		// A missing attribute makes every comparison false, negated or not.
		{`missing == 'x'`, false},
		{`missing != 'x'`, false},
		{`missing NOT IN ['x']`, false},
		{`worker.sid NOT IN task.absentList`, false},
		{`missing NOT HAS 'x'`, false},
		{`missing NOT CONTAINS 'x'`, false},
		{`missing > 1 OR missing <= 1`, false},
		{`NOT missing == 'x'`, true},
		{`nothing == 'x' OR nothing != 'x'`, false}, // JSON null is NULL
		{`missing.deeper.still == 1`, false},
		{`type.sub == 1`, false}, // key into a string
		{`missing`, false},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			e, err := Parse(tt.src)
			require.NoError(t, err)
			got, err := e.Match(env)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)

			// Canonical form evaluates the same.
			again, err := Parse(e.String())
			require.NoError(t, err)
			got, err = again.Match(env)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got, "after String(): %s", e.String())
		})
	}
}

func TestMatchJSONNumber(t *testing.T) {
	env := decode(t, `{"priority": 5, "score": 4.5, "list": [1, 2.5]}`, true)
	require.IsType(t, json.Number(""), env["priority"])
	for _, src := range []string{`priority == 5`, `priority > 4.9`, `score == 4.5`, `list HAS 2.5`, `5 IN list OR 1 IN list`} {
		ok, err := MustParse(src).Match(env)
		require.NoError(t, err)
		assert.True(t, ok, src)
	}
}

func TestMatchGoTypes(t *testing.T) {
	env := map[string]any{
		"n": 3, "n64": int64(4), "f32": float32(1.5), "u": uint(7),
		"skills": []string{"a", "b"}, "ints": []int{1, 2},
		"labels": map[string]string{"tier": "gold"},
	}
	for _, src := range []string{`n == 3`, `n64 > 3`, `f32 == 1.5`, `u >= 7`, `skills HAS 'b'`, `ints HAS 2`,
		`labels.tier == 'gold'`, `skills[1] == 'b'`} {
		ok, err := MustParse(src).Match(env)
		require.NoError(t, err)
		assert.True(t, ok, src)
	}
}

func TestMatchNotCondition(t *testing.T) {
	for _, src := range []string{`'worker'`, `5`, `['a']`, `(('x'))`} {
		_, err := MustParse(src).Match(nil)
		assert.ErrorIs(t, err, ErrNotCondition, src)
	}
	// A bare key may hold a boolean, so it is a condition.
	ok, err := MustParse(`flag`).Match(map[string]any{"flag": true})
	require.NoError(t, err)
	assert.True(t, ok)
}

func TestValue(t *testing.T) {
	env := map[string]any{"task": decode(t, taskJSON, false), "worker": map[string]any{"sid": "WK3"}}
	tests := []struct {
		src  string
		want any
	}{
		{`task.originalRouting.workerSid`, "WK9"},
		{`worker.sid`, "WK3"},
		{`task.routing.skills`, []any{"support", "english"}},
		{`task.tags[2]`, float64(7)},
		{`task.missing`, nil},
		{`task.nothing`, nil},
		{`'literal'`, "literal"},
		{`42`, float64(42)},
		{`[1, 'a', task.type, task.missing]`, []any{float64(1), "a", "support", nil}},
		{`task.priority > 1`, true},
		{`(task.vip)`, true},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			got, err := MustParse(tt.src).Value(env)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestNilExpr(t *testing.T) {
	var e *Expr
	_, err := e.Match(nil)
	assert.Error(t, err)
	_, err = e.Value(nil)
	assert.Error(t, err)
	assert.Empty(t, e.String())
}

func TestMustParsePanics(t *testing.T) {
	assert.Panics(t, func() { MustParse("a ==") })
}

// FuzzParse checks that Parse never panics, that a parsed expression's
// String() parses back to the same canonical text, and that evaluating it
// against a JSON document never panics.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`1==1`,
		`transferTargetType == "worker"`,
		`worker.sid NOT IN task.workerSidsInConversation`,
		`routing.skills HAS "support"`,
		`channelType IN ['sms','whatsapp']`,
		`(a == 1 OR b == 2) AND NOT c == 3`,
		`x['a b'][0] ** 'q\'' || y -> -1.5e3 && z <= .5`,
		`missing NOT IN ['x']`,
	} {
		f.Add(s)
	}
	env := decode(f, taskJSON, false)
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Parse(src)
		if err != nil {
			var se *SyntaxError
			if !assert.ErrorAs(t, err, &se) {
				return
			}
			assert.True(t, se.Pos >= 0 && se.Pos <= len(src), "position %d in %q", se.Pos, src)
			return
		}
		canon := e.String()
		again, err := Parse(canon)
		require.NoError(t, err, "String() of %q gave %q", src, canon)
		require.Equal(t, canon, again.String())
		_, _ = e.Match(env)
		_, _ = e.Value(env)
		m1, err1 := e.Match(env)
		m2, err2 := again.Match(env)
		require.Equal(t, err1 == nil, err2 == nil)
		require.Equal(t, m1, m2, "%q vs %q", src, canon)
	})
}
