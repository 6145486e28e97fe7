package server

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/flexhooks/flexhooks"
)

// signatureVerifier checks Twilio's X-Twilio-Signature:
// base64(HMAC-SHA1(authToken, url + each form parameter's name and value,
// names sorted)). For JSON bodies Twilio adds a bodySHA256 query parameter
// (hex SHA-256 of the body) to the URL it signs, and no parameters.
type signatureVerifier struct {
	key []byte
	// bases are PublicBaseURL with and without an explicit port: Twilio's
	// own validators accept both because Twilio has signed either over time.
	bases     []string
	configErr error
	scratch   sync.Pool // *sigScratch: one HMAC and buffers, reused
}

type sigScratch struct {
	mac    hash.Hash
	buf    []byte
	params []param
	sum    []byte
}

func newSignatureVerifier(authToken, publicBaseURL string) *signatureVerifier {
	v := &signatureVerifier{key: []byte(authToken)}
	v.scratch.New = func() any { return &sigScratch{mac: hmac.New(sha1.New, v.key)} }
	if authToken == "" {
		v.configErr = errors.New("no Twilio auth token configured")
		return v
	}
	bases, err := signatureBases(publicBaseURL)
	if err != nil {
		v.configErr = err
		return v
	}
	v.bases = bases
	return v
}

// signatureBases returns the URL prefixes to sign over: the public base URL
// as configured (without a trailing slash, since request paths start with
// one) and the same with the scheme's default port added, or without the
// port it has.
func signatureBases(publicBaseURL string) ([]string, error) {
	u, err := url.Parse(strings.TrimSpace(publicBaseURL))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("public base URL %q must be an absolute http(s) URL without query (the URL Twilio calls)", publicBaseURL)
	}
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	prefix := u.Scheme + "://"
	host := u.Hostname()
	if strings.Contains(host, ":") { // IPv6 literal
		host = "[" + host + "]"
	}
	withoutPort := prefix + host + path
	port := u.Port()
	if port == "" {
		port = "443"
		if u.Scheme == "http" {
			port = "80"
		}
		return []string{withoutPort, prefix + net.JoinHostPort(u.Hostname(), port) + path}, nil
	}
	return []string{prefix + net.JoinHostPort(u.Hostname(), port) + path, withoutPort}, nil
}

// middleware admits only requests Twilio signed. The body stays readable for
// the handler, and a form body is parsed once for both (requestForm).
func (v *signatureVerifier) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := v.verify(r); err != nil {
			WriteError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func forbidden(reason string) error {
	// The reason goes to the log (Err); the caller learns only that it failed.
	return &flexhooks.Error{Code: flexhooks.EFORBIDDEN, Message: "invalid Twilio signature", Err: errors.New(reason)}
}

func (v *signatureVerifier) verify(r *http.Request) error {
	if v.configErr != nil {
		return forbidden(v.configErr.Error())
	}
	header := r.Header.Get("X-Twilio-Signature")
	if header == "" {
		return forbidden("no X-Twilio-Signature header")
	}
	// An HMAC-SHA1 is 20 bytes: 28 characters of padded base64.
	var want [21]byte
	if len(header) != 28 {
		return forbidden("malformed X-Twilio-Signature header")
	}
	if n, err := base64.StdEncoding.Decode(want[:], []byte(header)); err != nil || n != sha1.Size {
		return forbidden("malformed X-Twilio-Signature header")
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	// The URL Twilio signed is the public one: the request-target as sent
	// (path and query, escaped as Twilio escaped them) after our base URL.
	uri := r.RequestURI
	if uri == "" || uri[0] != '/' {
		uri = r.URL.RequestURI()
	}

	var bodyHash string
	if strings.Contains(r.URL.RawQuery, "bodySHA256") {
		bodyHash = r.URL.Query().Get("bodySHA256")
	}
	if bodyHash != "" {
		// JSON body: the signature covers the URL (which carries the body's
		// hash); the body must then match that hash.
		if !v.match(uri, nil, false, want[:sha1.Size]) {
			return forbidden("signature does not match")
		}
		var wantSum [sha256.Size]byte
		if len(bodyHash) != 2*sha256.Size {
			return forbidden("malformed bodySHA256")
		}
		if _, err := hex.Decode(wantSum[:], []byte(bodyHash)); err != nil {
			return forbidden("malformed bodySHA256")
		}
		sum := sha256.Sum256(body)
		if subtle.ConstantTimeCompare(sum[:], wantSum[:]) != 1 {
			return forbidden("body does not match bodySHA256")
		}
		return nil
	}

	var params []param
	if len(body) > 0 {
		if bodyKind(r, body) == kindJSON {
			// Without bodySHA256 nothing would cover a JSON body.
			return forbidden("JSON body without bodySHA256")
		}
		if params, err = requestForm(r); err != nil {
			return forbidden("malformed form body")
		}
	}
	if v.match(uri, params, false, want[:sha1.Size]) {
		return nil
	}
	// Repeated parameters: Twilio's helper libraries sign the values sorted
	// (and deduplicated), some senders (the emulator) in the order sent.
	// Try the other way only when it differs.
	if hasRepeats(params) && v.match(uri, params, true, want[:sha1.Size]) {
		return nil
	}
	return forbidden("signature does not match")
}

// match reports whether want is the signature of one of the bases + uri +
// params sorted by name (values in the order sent, or sorted and
// deduplicated).
func (v *signatureVerifier) match(uri string, params []param, sortValues bool, want []byte) bool {
	sc := v.scratch.Get().(*sigScratch)
	defer func() {
		if cap(sc.buf) > 64<<10 {
			sc.buf = nil // do not pin a large body's buffer in the pool
		}
		clear(sc.params) // nor its strings
		v.scratch.Put(sc)
	}()
	sc.params = append(sc.params[:0], params...)
	if sortValues {
		slices.SortFunc(sc.params, func(a, b param) int {
			if c := strings.Compare(a.key, b.key); c != 0 {
				return c
			}
			return strings.Compare(a.value, b.value)
		})
		sc.params = slices.Compact(sc.params)
	} else {
		// Stable: a repeated name's values keep the order they came in.
		slices.SortStableFunc(sc.params, func(a, b param) int { return strings.Compare(a.key, b.key) })
	}
	for _, base := range v.bases {
		b := append(sc.buf[:0], base...)
		b = append(b, uri...)
		for _, p := range sc.params {
			b = append(b, p.key...)
			b = append(b, p.value...)
		}
		sc.buf = b
		sc.mac.Reset()
		sc.mac.Write(b)
		sc.sum = sc.mac.Sum(sc.sum[:0])
		// Each comparison is constant-time; stopping at the first match
		// reveals only which URL form Twilio used, which is no secret.
		if subtle.ConstantTimeCompare(sc.sum, want) == 1 {
			return true
		}
	}
	return false
}

func hasRepeats(params []param) bool {
	if len(params) > 32 {
		seen := make(map[string]bool, len(params))
		for _, p := range params {
			if seen[p.key] {
				return true
			}
			seen[p.key] = true
		}
		return false
	}
	for i := range params {
		for j := i + 1; j < len(params); j++ {
			if params[i].key == params[j].key {
				return true
			}
		}
	}
	return false
}
