package twilio

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/flexhooks/flexhooks"
)

// pathGateTransport is the one gate every identifier that reaches a Twilio
// URL passes, whoever built the call and wherever the identifier came from
// (a request, task or conversation attributes, a Sync item): it sits at the
// top of the shared stack, so no call can go around it.
//
// twilio-go puts path parameters into its URL templates with
// strings.Replace, unescaped (e.g. rest/conversations/v1/conversations.go:
// path = strings.Replace(path, "{"+"Sid"+"}", Sid, -1)), so a "SID" of
// "../../v1/Interactions/KD…" or "CH…/Participants/MB…" changes which
// resource the call addresses. A refused request is never sent, retried or
// counted; the caller gets an EINVALID *flexhooks.Error naming what is
// wrong, never the value.
//
// What it checks, on the decoded path:
//   - every segment is non-empty, not "." or "..", at most 320 bytes (Sync's
//     longest key or unique name), of letters, digits and _ - . : + @ = ~ ,
//     only (no percent-escapes, no slash smuggled as %2F);
//   - the segment after a known collection (Conversations, Participants,
//     Tasks, Maps, Items…) is a SID with that resource's prefix, or, where
//     Twilio takes a name there too (Sync maps and items, the "default"
//     Sync service, task channels), a name that is not a malformed SID;
//   - any other SID-shaped segment (two capitals and hex digits) is a whole
//     SID: two capitals and 32 hex digits;
//   - no fragment, and no query string on a form POST (twilio-go sends its
//     parameters in the body there, so a query came from a parameter).
//
// A well-formed path naming another resource of the same kind is not
// something a format check can tell; that is the ownership checks' job.
type pathGateTransport struct {
	base http.RoundTripper
}

func (t *pathGateTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := checkTwilioURL(req); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	return t.base.RoundTrip(req)
}

// maxSegment is the longest path segment: Sync map names and item keys are
// at most 320 characters (https://www.twilio.com/docs/sync/api/map-item-resource),
// SIDs 34.
const maxSegment = 320

// idKind says what may follow a collection segment.
type idKind struct {
	prefixes []string // SID prefixes; nil means any
	names    bool     // a name (unique name, key) is accepted too
}

// collections maps each Twilio host's collection names to what identifies
// one of its resources, from the path parameters' patterns in Twilio's
// OpenAPI specs (twilio-oai). Where Twilio also takes a name (a
// conversation's or participant's unique name or identity) flexhooks,
// which only ever addresses them by SID, does not: a name there can only
// have come from someone else's data.
var collections = map[string]map[string]idKind{
	"conversations.twilio.com": {
		"Conversations": {prefixes: []string{"CH"}},
		"Participants":  {prefixes: []string{"MB"}},
		"Messages":      {prefixes: []string{"IM"}},
		"Receipts":      {prefixes: []string{"DY"}},
		"Webhooks":      {prefixes: []string{"WH"}},
		"Services":      {prefixes: []string{"IS"}},
		"Users":         {prefixes: []string{"US"}, names: true}, // or the identity
		"Roles":         {prefixes: []string{"RL"}},
		"Credentials":   {prefixes: []string{"CR"}},
		"Bindings":      {prefixes: []string{"BS"}},
	},
	"flex-api.twilio.com": {
		"Interactions": {prefixes: []string{"KD"}},
		"Channels":     {prefixes: []string{"UO", "CH"}}, // interaction channels; /v1/Channels are chat channels
		"Participants": {prefixes: []string{"UT"}},
		"Transfers":    {prefixes: []string{"UX"}},
		"FlexFlows":    {prefixes: []string{"FO"}},
		"WebChannels":  {prefixes: []string{"CH"}},
	},
	"taskrouter.twilio.com": {
		"Workspaces":   {prefixes: []string{"WS"}},
		"Tasks":        {prefixes: []string{"WT"}},
		"Workers":      {prefixes: []string{"WK"}},
		"Reservations": {prefixes: []string{"WR"}},
		"Workflows":    {prefixes: []string{"WW"}},
		"TaskQueues":   {prefixes: []string{"WQ"}},
		"Activities":   {prefixes: []string{"WA"}},
		"Events":       {prefixes: []string{"EV"}},
		"TaskChannels": {prefixes: []string{"TC"}, names: true},
	},
	"sync.twilio.com": {
		"Services":  {prefixes: []string{"IS"}, names: true}, // "default"
		"Maps":      {prefixes: []string{"MP"}, names: true},
		"Items":     {names: true}, // map keys and list indexes; a SID-shaped key must be a whole SID
		"Documents": {prefixes: []string{"ET"}, names: true},
		"Lists":     {prefixes: []string{"ES"}, names: true},
		"Streams":   {prefixes: []string{"TO"}, names: true},
	},
	"iam.twilio.com": {
		"Accounts": {prefixes: []string{"AC"}},
	},
}

// singletons may follow a collection in place of an identifier
// (/v1/Workspaces/WS…/Workers/Statistics).
var singletons = map[string]bool{"Statistics": true, "CumulativeStatistics": true, "RealTimeStatistics": true}

func checkTwilioURL(req *http.Request) error {
	u := req.URL
	refuse := func(msg string, seg int, value string) error {
		return &flexhooks.Error{Code: flexhooks.EINVALID, Message: "invalid Twilio resource identifier: " + msg,
			Err: fmt.Errorf("refused %s %s: path segment %d %.64q", req.Method, u.Host, seg, value)}
	}
	switch {
	case u.Fragment != "" || u.RawFragment != "":
		return refuse("it contains \"#\"", 0, u.Fragment)
	case u.RawQuery != "" && req.Method == http.MethodPost && !strings.HasPrefix(req.Header.Get("Content-Type"), "application/json"):
		return refuse("it contains \"?\"", 0, u.RawQuery)
	case !strings.HasPrefix(u.Path, "/"):
		return refuse("the path is not absolute", 0, u.Path)
	}
	kinds := collections[strings.ToLower(u.Hostname())]
	segs := strings.Split(u.Path[1:], "/")
	for i, seg := range segs {
		if msg := checkSegment(seg); msg != "" {
			return refuse(msg, i, seg)
		}
		if i == 0 {
			continue
		}
		if k, ok := kinds[segs[i-1]]; ok && !singletons[seg] {
			if msg := checkIdentifier(segs[i-1], k, seg); msg != "" {
				return refuse(msg, i, seg)
			}
			continue
		}
		if sidShaped(seg) && !wholeSID(seg) {
			return refuse("a SID must be two capital letters and 32 hex digits", i, seg)
		}
	}
	if u.RawPath != "" {
		// Escaped, the segments above could hide a "/" (%2F) from Twilio's
		// router or an edge proxy: nothing flexhooks names needs escaping.
		return refuse("it contains a percent-escape", 0, u.RawPath)
	}
	return nil
}

// checkSegment returns what is wrong with one path segment, or "".
func checkSegment(seg string) string {
	switch {
	case seg == "":
		return "an empty path segment (an empty SID or a doubled \"/\")"
	case seg == "." || seg == "..":
		return "a path traversal (\".\" or \"..\")"
	case len(seg) > maxSegment:
		return fmt.Sprintf("a path segment is %d bytes long; at most %d", len(seg), maxSegment)
	}
	for i := 0; i < len(seg); i++ {
		switch c := seg[i]; {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case strings.IndexByte("_-.:+@=~,", c) >= 0:
		default:
			return fmt.Sprintf("the character %q has no place in a SID, key or name", c)
		}
	}
	return ""
}

// checkIdentifier returns what is wrong with seg as the identifier of a
// resource in collection, or "".
func checkIdentifier(collection string, k idKind, seg string) string {
	if wholeSID(seg) {
		if k.prefixes == nil || hasPrefix(seg, k.prefixes) {
			return ""
		}
		return fmt.Sprintf("%s takes a %s SID, not a %s SID", collection, strings.Join(k.prefixes, " or "), seg[:2])
	}
	if k.names && !sidShaped(seg) {
		return ""
	}
	if k.prefixes == nil {
		return fmt.Sprintf("a SID-shaped %s key must be two capital letters and 32 hex digits", collection)
	}
	return fmt.Sprintf("%s takes a %s SID (two capital letters and 32 hex digits)", collection, strings.Join(k.prefixes, " or "))
}

func hasPrefix(sid string, prefixes []string) bool {
	for _, p := range prefixes {
		if sid[:2] == p {
			return true
		}
	}
	return false
}

// wholeSID reports two capital letters followed by 32 hex digits: every
// Twilio SID. Either case of hex is taken, as webhooks' own check does.
func wholeSID(s string) bool {
	return len(s) == 34 && sidShaped(s)
}

// sidShaped reports two capital letters followed by at least 8 hex digits
// and nothing else: a SID, or one cut short or run long. Shorter runs are
// let through, so that a name such as "AB12" stays a name.
func sidShaped(s string) bool {
	if len(s) < 10 || !isUpper(s[0]) || !isUpper(s[1]) {
		return false
	}
	for i := 2; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
