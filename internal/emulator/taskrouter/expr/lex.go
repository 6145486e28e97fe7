package expr

import (
	"strings"
)

// tokKind is the lexical class of a token.
type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tTrue
	tFalse
	tAnd
	tOr
	tNot
	tIn
	tHas
	tContains
	tEq // == or =
	tNe // !=
	tLt // <
	tGt // >
	tLe // <=
	tGe // >=
	tLParen
	tRParen
	tLBrack
	tRBrack
	tComma
	tDot
)

var kindNames = map[tokKind]string{
	tEOF: "end of expression", tIdent: "identifier", tString: "string", tNumber: "number",
	tTrue: "true", tFalse: "false", tAnd: "AND", tOr: "OR", tNot: "NOT",
	tIn: "IN", tHas: "HAS", tContains: "CONTAINS", tEq: "==", tNe: "!=", tLt: "<", tGt: ">",
	tLe: "<=", tGe: ">=", tLParen: "(", tRParen: ")", tLBrack: "[", tRBrack: "]", tComma: ",", tDot: ".",
}

func (k tokKind) String() string { return kindNames[k] }

// keywords are matched case-insensitively, as TaskRouter does (its own docs
// write both `IN` and `in`).
var keywords = map[string]tokKind{
	"and": tAnd, "or": tOr, "not": tNot, "in": tIn, "has": tHas, "contains": tContains,
	"true": tTrue, "false": tFalse,
}

type token struct {
	kind tokKind
	pos  int    // byte offset of the token's first character
	text string // identifier name, decoded string value or number text
}

// lexer turns the source into tokens on demand.
type lexer struct {
	src string
	pos int
}

func isIdentStart(c byte) bool {
	return c == '_' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentChar(c byte) bool { return isIdentStart(c) || isDigit(c) }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// next returns the next token. afterDot makes keywords plain identifiers, so
// that attribute paths such as `task.in` or `worker.contains` still resolve.
func (l *lexer) next(afterDot bool) (token, error) {
	for l.pos < len(l.src) && strings.IndexByte(" \t\r\n", l.src[l.pos]) >= 0 {
		l.pos++
	}
	start := l.pos
	if l.pos >= len(l.src) {
		return token{kind: tEOF, pos: start}, nil
	}
	c := l.src[l.pos]
	two := ""
	if l.pos+1 < len(l.src) {
		two = l.src[l.pos : l.pos+2]
	}
	op := func(k tokKind, n int) (token, error) {
		l.pos += n
		return token{kind: k, pos: start, text: l.src[start:l.pos]}, nil
	}
	switch two {
	case "==":
		return op(tEq, 2)
	case "!=":
		return op(tNe, 2)
	case "<=":
		return op(tLe, 2)
	case ">=":
		return op(tGe, 2)
	case "&&":
		return op(tAnd, 2)
	case "||":
		return op(tOr, 2)
	case "->": // TaskRouter's symbolic HAS
		return op(tHas, 2)
	case "**": // TaskRouter's symbolic CONTAINS
		return op(tContains, 2)
	}
	switch c {
	case '=':
		return op(tEq, 1)
	case '<':
		return op(tLt, 1)
	case '>':
		return op(tGt, 1)
	case '(':
		return op(tLParen, 1)
	case ')':
		return op(tRParen, 1)
	case '[':
		return op(tLBrack, 1)
	case ']':
		return op(tRBrack, 1)
	case ',':
		return op(tComma, 1)
	case '.':
		if l.pos+1 < len(l.src) && isDigit(l.src[l.pos+1]) && !afterDot {
			return l.number()
		}
		return op(tDot, 1)
	case '"', '\'':
		return l.str(c)
	case '-':
		if l.pos+1 < len(l.src) && (isDigit(l.src[l.pos+1]) || l.src[l.pos+1] == '.') {
			return l.number()
		}
	}
	if isDigit(c) {
		return l.number()
	}
	if isIdentStart(c) {
		for l.pos < len(l.src) && isIdentChar(l.src[l.pos]) {
			l.pos++
		}
		word := l.src[start:l.pos]
		if !afterDot {
			if k, ok := keywords[strings.ToLower(word)]; ok {
				return token{kind: k, pos: start, text: word}, nil
			}
			// TaskRouter's constants are strings, numbers and booleans
			// (docs/taskrouter/expression-syntax): there is no null, and a
			// workflow that leans on one would not be accepted by Twilio.
			if strings.EqualFold(word, "null") {
				return token{}, errAt(start, "null is not a TaskRouter constant (constants are strings, numbers and booleans; test a list that may be absent with HAS or IN, or always set it)")
			}
		}
		return token{kind: tIdent, pos: start, text: word}, nil
	}
	if c == '-' {
		return token{}, errAt(start, "hyphens are not allowed outside numbers (TaskRouter keys cannot contain them)")
	}
	return token{}, errAt(start, "unexpected character %q", rune(c))
}

// number scans [-]digits[.digits][e[+-]digits]; strconv validates it later.
func (l *lexer) number() (token, error) {
	start := l.pos
	if l.src[l.pos] == '-' {
		l.pos++
	}
	digits := func() int {
		n := 0
		for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
			l.pos++
			n++
		}
		return n
	}
	n := digits()
	if l.pos < len(l.src) && l.src[l.pos] == '.' {
		l.pos++
		n += digits()
	}
	if n == 0 {
		return token{}, errAt(start, "malformed number")
	}
	if l.pos < len(l.src) && (l.src[l.pos] == 'e' || l.src[l.pos] == 'E') {
		l.pos++
		if l.pos < len(l.src) && (l.src[l.pos] == '+' || l.src[l.pos] == '-') {
			l.pos++
		}
		if digits() == 0 {
			return token{}, errAt(start, "malformed number exponent")
		}
	}
	if l.pos < len(l.src) && isIdentStart(l.src[l.pos]) {
		return token{}, errAt(l.pos, "unexpected character %q after number", rune(l.src[l.pos]))
	}
	return token{kind: tNumber, pos: start, text: l.src[start:l.pos]}, nil
}

// str scans a quoted string. A backslash escapes the next character so that
// String() can print any value and have it parse back.
func (l *lexer) str(quote byte) (token, error) {
	start := l.pos
	l.pos++
	var b strings.Builder
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch c {
		case quote:
			l.pos++
			return token{kind: tString, pos: start, text: b.String()}, nil
		case '\\':
			if l.pos+1 >= len(l.src) {
				return token{}, errAt(start, "unterminated string")
			}
			b.WriteByte(l.src[l.pos+1])
			l.pos += 2
		default:
			b.WriteByte(c)
			l.pos++
		}
	}
	return token{}, errAt(start, "unterminated string")
}
