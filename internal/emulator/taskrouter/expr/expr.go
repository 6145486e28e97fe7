// Package expr implements the TaskRouter expression language that Flex
// workflows and TaskQueue target expressions are written in, e.g.
//
//	transferTargetType == "worker" AND worker.sid NOT IN task.workerSidsInConversation
//	routing.skills HAS "support"
//	channelType IN ['sms', 'whatsapp']
//
// Syntax, as Twilio documents it (docs/taskrouter/expression-syntax):
//   - constants: strings in single or double quotes (a backslash escapes the
//     next character), numbers (1, -2.5, 1e3), true, false. There is no
//     null: `x == null` is a syntax error, as on Twilio.
//   - keys: name(.name | [index] | ['key'])*, resolved against the env map.
//   - comparisons: == (or =), !=, <, >, <=, >=; list operators
//     HAS (or ->), IN, NOT IN, CONTAINS (or **), and NOT HAS / NOT CONTAINS.
//   - logic: AND (or &&), OR (or ||), NOT, parentheses.
//     Precedence, loosest first: OR, AND, NOT, comparison.
//   - keywords are case-insensitive (`in`, `and`, `True` all work).
//
// Semantics follow TaskRouter's SQL-like NULL: a key the document does not
// hold (or holds as JSON null) resolves to NULL, and any comparison with NULL
// is false — including !=, NOT IN, NOT HAS and NOT CONTAINS — rather than an
// error. So an expression that must hold when a key is absent has to be
// written without it (or the key always set).
package expr

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
)

// Expr is a parsed expression. It is immutable and safe for concurrent use.
type Expr struct {
	src  string
	root node
}

// MustParse is Parse for expressions known to be valid (seeds, tests); it
// panics on a syntax error.
func MustParse(src string) *Expr {
	e, err := Parse(src)
	if err != nil {
		panic(err)
	}
	return e
}

// Source returns the text the expression was parsed from.
func (e *Expr) Source() string { return e.src }

// String returns a canonical form of the expression (upper-case keywords,
// double-quoted strings, the source's parentheses); it parses back to an
// equivalent expression.
func (e *Expr) String() string {
	if e == nil || e.root == nil {
		return ""
	}
	var b strings.Builder
	e.root.write(&b)
	return b.String()
}

// ErrNotCondition is returned by Match when the expression is a constant
// value (a string, a number, a list) rather than a condition; TaskRouter
// would reject such a filter, and silently never matching would hide typos.
var ErrNotCondition = errors.New("expression: a constant value is not a condition")

// Match evaluates the expression as a condition against env. A missing
// attribute makes its comparison false; it is not an error.
func (e *Expr) Match(env map[string]any) (bool, error) {
	if e == nil || e.root == nil {
		return false, errors.New("expression: nil expression")
	}
	root := e.root
	for g, ok := root.(*groupNode); ok; g, ok = root.(*groupNode) {
		root = g.x
	}
	switch n := root.(type) {
	case *listNode:
		return false, ErrNotCondition
	case *litNode:
		if _, ok := n.v.(bool); !ok {
			return false, ErrNotCondition
		}
	}
	return truth(e.root, env), nil
}

// Value evaluates the expression as a value: a key gives the attribute as
// stored in env (nil when missing), a constant gives string / float64 / bool
// / nil, a list gives []any, a condition gives a bool.
func (e *Expr) Value(env map[string]any) (any, error) {
	if e == nil || e.root == nil {
		return nil, errors.New("expression: nil expression")
	}
	v, _ := value(e.root, env)
	return v, nil
}

// truth evaluates n as a condition. A bare key or constant is true only when
// it is the boolean true (e.g. `isTransfer AND ...`).
func truth(n node, env map[string]any) bool {
	switch n := n.(type) {
	case *logicNode:
		if n.and {
			return truth(n.l, env) && truth(n.r, env)
		}
		return truth(n.l, env) || truth(n.r, env)
	case *notNode:
		return !truth(n.x, env)
	case *groupNode:
		return truth(n.x, env)
	case *cmpNode:
		return compare(n, env)
	}
	v, ok := value(n, env)
	b, isBool := v.(bool)
	return ok && isBool && b
}

// value evaluates n; ok is false when n resolves to NULL.
func value(n node, env map[string]any) (v any, ok bool) {
	switch n := n.(type) {
	case *litNode:
		return n.v, n.v != nil
	case *listNode:
		out := make([]any, len(n.items))
		for i, it := range n.items {
			out[i], _ = value(it, env)
		}
		return out, true
	case *pathNode:
		return resolve(n.segs, env)
	case *groupNode:
		return value(n.x, env)
	}
	return truth(n, env), true
}

func resolve(segs []seg, env map[string]any) (any, bool) {
	var cur any = env
	for _, s := range segs {
		var ok bool
		if s.isIdx {
			var list []any
			if list, ok = asList(cur); !ok || s.idx >= len(list) {
				return nil, false
			}
			cur = list[s.idx]
		} else if cur, ok = field(cur, s.name); !ok {
			return nil, false
		}
		if cur == nil {
			return nil, false
		}
	}
	return cur, true
}

// field looks a key up in any string-keyed map: attributes decoded from JSON
// are map[string]any, but callers may build envs from typed maps.
func field(m any, key string) (any, bool) {
	switch m := m.(type) {
	case map[string]any:
		v, ok := m[key]
		return v, ok
	case map[string]string:
		v, ok := m[key]
		return v, ok
	case nil:
		return nil, false
	}
	rv := reflect.ValueOf(m)
	if rv.Kind() != reflect.Map || rv.Type().Key().Kind() != reflect.String {
		return nil, false
	}
	v := rv.MapIndex(reflect.ValueOf(key).Convert(rv.Type().Key()))
	if !v.IsValid() {
		return nil, false
	}
	return v.Interface(), true
}

func asList(v any) ([]any, bool) {
	switch v := v.(type) {
	case []any:
		return v, true
	case []string:
		out := make([]any, len(v))
		for i, s := range v {
			out[i] = s
		}
		return out, true
	case nil, string:
		return nil, false
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return nil, false
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out, true
}

// number normalises the numeric types JSON decoding and Go callers produce.
func number(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case float32:
		return float64(v), true
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	case int32:
		return float64(v), true
	case uint:
		return float64(v), true
	case uint64:
		return float64(v), true
	case uint32:
		return float64(v), true
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	}
	return 0, false
}

func compare(n *cmpNode, env map[string]any) bool {
	l, lok := value(n.l, env)
	r, rok := value(n.r, env)
	if !lok || !rok {
		return false
	}
	var res bool
	switch n.op {
	case tEq:
		return equal(l, r)
	case tNe:
		return !equal(l, r)
	case tLt, tGt, tLe, tGe:
		return order(n.op, l, r)
	case tHas:
		// list HAS value: the list holds the value.
		list, ok := asList(l)
		if !ok {
			return false
		}
		res = holds(list, r)
	case tIn:
		// value IN list; a list on the left matches when any of its
		// elements is in the right-hand list.
		list, ok := asList(r)
		if !ok {
			return false
		}
		if ll, isList := asList(l); isList {
			for _, x := range ll {
				if holds(list, x) {
					res = true
					break
				}
			}
		} else {
			res = holds(list, l)
		}
	case tContains:
		// string CONTAINS substring; on a list, any string element does.
		sub, ok := r.(string)
		if !ok {
			return false
		}
		if s, isStr := l.(string); isStr {
			res = strings.Contains(s, sub)
		} else if list, isList := asList(l); isList {
			for _, x := range list {
				if s, isStr := x.(string); isStr && strings.Contains(s, sub) {
					res = true
					break
				}
			}
		} else {
			return false
		}
	}
	return res != n.neg
}

func holds(list []any, v any) bool {
	for _, x := range list {
		if equal(x, v) {
			return true
		}
	}
	return false
}

// equal compares scalars of the same type; values of different types are
// never equal (TaskRouter does not coerce "1" to 1).
func equal(a, b any) bool {
	if fa, ok := number(a); ok {
		fb, ok := number(b)
		return ok && fa == fb
	}
	switch a := a.(type) {
	case string:
		bs, ok := b.(string)
		return ok && a == bs
	case bool:
		bb, ok := b.(bool)
		return ok && a == bb
	case nil:
		return b == nil
	}
	if la, ok := asList(a); ok {
		lb, ok := asList(b)
		if !ok || len(la) != len(lb) {
			return false
		}
		for i := range la {
			if !equal(la[i], lb[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

// order compares two numbers or two strings; anything else is false.
func order(op tokKind, a, b any) bool {
	var c int
	if fa, ok := number(a); ok {
		fb, ok := number(b)
		if !ok {
			return false
		}
		switch {
		case fa < fb:
			c = -1
		case fa > fb:
			c = 1
		case fa != fb: // NaN
			return false
		}
	} else {
		sa, ok1 := a.(string)
		sb, ok2 := b.(string)
		if !ok1 || !ok2 {
			return false
		}
		c = strings.Compare(sa, sb)
	}
	switch op {
	case tLt:
		return c < 0
	case tGt:
		return c > 0
	case tLe:
		return c <= 0
	default:
		return c >= 0
	}
}
