package expr

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// SyntaxError is what Parse returns: Pos is the byte offset in the source
// where the problem was found.
type SyntaxError struct {
	Pos int
	Msg string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("expression: position %d: %s", e.Pos, e.Msg)
}

func errAt(pos int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// maxDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxDepth = 200

// node is one element of the syntax tree.
type node interface {
	// write appends the canonical text of the node to b.
	write(b *strings.Builder)
}

type (
	// logicNode is AND / OR.
	logicNode struct {
		and  bool
		l, r node
	}
	// notNode negates a condition.
	notNode struct{ x node }
	// cmpNode is one comparison; neg turns IN/HAS/CONTAINS into NOT IN/...
	cmpNode struct {
		op   tokKind
		neg  bool
		l, r node
	}
	// litNode is a constant: string, float64 or bool.
	litNode struct{ v any }
	// listNode is a list literal such as ['sms','whatsapp'].
	listNode struct{ items []node }
	// pathNode is an attribute reference: names and indexes.
	pathNode struct{ segs []seg }
	// groupNode keeps the source's parentheses so String() shows them.
	groupNode struct{ x node }
)

// seg is one step of a path: a key (name) or an array index (idx, when isIdx).
type seg struct {
	name  string
	idx   int
	isIdx bool
}

type parser struct {
	lex   lexer
	tok   token
	depth int
}

// Parse compiles a TaskRouter expression.
func Parse(src string) (*Expr, error) {
	p := &parser{lex: lexer{src: src}}
	if err := p.advance(false); err != nil {
		return nil, err
	}
	if p.tok.kind == tEOF {
		return nil, errAt(0, "empty expression")
	}
	n, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, errAt(p.tok.pos, "unexpected %s", describe(p.tok))
	}
	return &Expr{src: src, root: n}, nil
}

func describe(t token) string {
	switch t.kind {
	case tIdent:
		return fmt.Sprintf("identifier %q", t.text)
	case tString:
		return fmt.Sprintf("string %q", t.text)
	case tNumber:
		return "number " + t.text
	case tEOF:
		return "end of expression"
	}
	return fmt.Sprintf("%q", t.text)
}

func (p *parser) advance(afterDot bool) error {
	t, err := p.lex.next(afterDot)
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return errAt(p.tok.pos, "expression nested too deeply")
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func (p *parser) parseOr() (node, error) {
	l, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.tok.kind == tOr {
		if err := p.advance(false); err != nil {
			return nil, err
		}
		r, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		l = &logicNode{and: false, l: l, r: r}
	}
	return l, nil
}

func (p *parser) parseAnd() (node, error) {
	l, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for p.tok.kind == tAnd {
		if err := p.advance(false); err != nil {
			return nil, err
		}
		r, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		l = &logicNode{and: true, l: l, r: r}
	}
	return l, nil
}

// parseUnary: NOT binds looser than a comparison, so `NOT c == 3` is
// NOT (c == 3), and tighter than AND/OR.
func (p *parser) parseUnary() (node, error) {
	if p.tok.kind == tNot {
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer p.leave()
		if err := p.advance(false); err != nil {
			return nil, err
		}
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return &notNode{x: x}, nil
	}
	return p.parseCmp()
}

func (p *parser) parseCmp() (node, error) {
	l, err := p.parseOperand()
	if err != nil {
		return nil, err
	}
	neg := false
	if p.tok.kind == tNot {
		// Only `x NOT IN|HAS|CONTAINS y` can follow an operand.
		neg = true
		if err := p.advance(false); err != nil {
			return nil, err
		}
		switch p.tok.kind {
		case tIn, tHas, tContains:
		default:
			return nil, errAt(p.tok.pos, "expected IN, HAS or CONTAINS after NOT, found %s", describe(p.tok))
		}
	}
	switch op := p.tok.kind; op {
	case tEq, tNe, tLt, tGt, tLe, tGe, tIn, tHas, tContains:
		if err := p.advance(false); err != nil {
			return nil, err
		}
		r, err := p.parseOperand()
		if err != nil {
			return nil, err
		}
		return &cmpNode{op: op, neg: neg, l: l, r: r}, nil
	}
	return l, nil
}

func (p *parser) parseOperand() (node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	t := p.tok
	switch t.kind {
	case tString:
		return &litNode{v: t.text}, p.advance(false)
	case tNumber:
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, errAt(t.pos, "number %s out of range", t.text)
		}
		return &litNode{v: f}, p.advance(false)
	case tTrue, tFalse:
		return &litNode{v: t.kind == tTrue}, p.advance(false)
	case tLParen:
		if err := p.advance(false); err != nil {
			return nil, err
		}
		x, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tRParen {
			return nil, errAt(p.tok.pos, "expected ) to close ( at position %d, found %s", t.pos, describe(p.tok))
		}
		return &groupNode{x: x}, p.advance(false)
	case tLBrack:
		return p.parseList()
	case tIdent:
		return p.parsePath()
	case tEOF:
		return nil, errAt(t.pos, "expected a value, found end of expression")
	}
	return nil, errAt(t.pos, "expected a value, found %s", describe(t))
}

func (p *parser) parseList() (node, error) {
	open := p.tok.pos
	if err := p.advance(false); err != nil {
		return nil, err
	}
	l := &listNode{}
	if p.tok.kind == tRBrack {
		return l, p.advance(false)
	}
	for {
		item, err := p.parseOperand()
		if err != nil {
			return nil, err
		}
		l.items = append(l.items, item)
		switch p.tok.kind {
		case tComma:
			if err := p.advance(false); err != nil {
				return nil, err
			}
		case tRBrack:
			return l, p.advance(false)
		default:
			return nil, errAt(p.tok.pos, "expected , or ] in list opened at position %d, found %s", open, describe(p.tok))
		}
	}
}

// parsePath reads name(.name|[index]|['key'])*.
func (p *parser) parsePath() (node, error) {
	n := &pathNode{segs: []seg{{name: p.tok.text}}}
	if err := p.advance(false); err != nil {
		return nil, err
	}
	for {
		switch p.tok.kind {
		case tDot:
			if err := p.advance(true); err != nil {
				return nil, err
			}
			if p.tok.kind != tIdent {
				return nil, errAt(p.tok.pos, "expected a key after '.', found %s", describe(p.tok))
			}
			n.segs = append(n.segs, seg{name: p.tok.text})
			if err := p.advance(false); err != nil {
				return nil, err
			}
		case tLBrack:
			if err := p.advance(false); err != nil {
				return nil, err
			}
			switch t := p.tok; t.kind {
			case tNumber:
				i, err := strconv.Atoi(t.text)
				if err != nil || i < 0 {
					return nil, errAt(t.pos, "array index must be a non-negative integer, found %s", t.text)
				}
				n.segs = append(n.segs, seg{idx: i, isIdx: true})
			case tString:
				n.segs = append(n.segs, seg{name: t.text})
			default:
				return nil, errAt(t.pos, "expected an index or a quoted key in [], found %s", describe(t))
			}
			if err := p.advance(false); err != nil {
				return nil, err
			}
			if p.tok.kind != tRBrack {
				return nil, errAt(p.tok.pos, "expected ], found %s", describe(p.tok))
			}
			if err := p.advance(false); err != nil {
				return nil, err
			}
		default:
			return n, nil
		}
	}
}

// --- canonical printing -----------------------------------------------------

var opText = map[tokKind]string{
	tEq: "==", tNe: "!=", tLt: "<", tGt: ">", tLe: "<=", tGe: ">=",
	tIn: "IN", tHas: "HAS", tContains: "CONTAINS",
}

func (n *logicNode) write(b *strings.Builder) {
	n.l.write(b)
	if n.and {
		b.WriteString(" AND ")
	} else {
		b.WriteString(" OR ")
	}
	// The tree is left-associative, so a logic node on the right only exists
	// when the source had parentheses, which groupNode prints.
	n.r.write(b)
}

func (n *notNode) write(b *strings.Builder) {
	b.WriteString("NOT ")
	n.x.write(b)
}

func (n *cmpNode) write(b *strings.Builder) {
	n.l.write(b)
	b.WriteByte(' ')
	if n.neg {
		b.WriteString("NOT ")
	}
	b.WriteString(opText[n.op])
	b.WriteByte(' ')
	n.r.write(b)
}

func (n *litNode) write(b *strings.Builder) {
	switch v := n.v.(type) {
	case string:
		writeQuoted(b, v)
	case float64:
		b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
	default:
		b.WriteString(strconv.FormatBool(v.(bool)))
	}
}

func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
}

func (n *listNode) write(b *strings.Builder) {
	b.WriteByte('[')
	for i, it := range n.items {
		if i > 0 {
			b.WriteString(", ")
		}
		it.write(b)
	}
	b.WriteByte(']')
}

func (n *pathNode) write(b *strings.Builder) {
	for i, s := range n.segs {
		switch {
		case s.isIdx:
			fmt.Fprintf(b, "[%d]", s.idx)
		case isPlainName(s.name) && (i > 0 || !isKeyword(s.name)):
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.name)
		default:
			// Only reachable for later segments (['key'] syntax); the first
			// segment is always a plain, non-keyword identifier.
			b.WriteByte('[')
			writeQuoted(b, s.name)
			b.WriteByte(']')
		}
	}
}

func (n *groupNode) write(b *strings.Builder) {
	b.WriteByte('(')
	n.x.write(b)
	b.WriteByte(')')
}

func isPlainName(s string) bool {
	if s == "" || !isIdentStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentChar(s[i]) {
			return false
		}
	}
	return true
}

func isKeyword(s string) bool {
	_, ok := keywords[strings.ToLower(s)]
	return ok
}
