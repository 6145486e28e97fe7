// Package rewrite owns the one HTTP transport that sends Twilio REST requests
// to another place (the emulator) while keeping the Twilio host in the Host
// header, which is how the emulator tells the products apart.
package rewrite

import (
	"net/http"
	"net/url"
)

// Transport sends every request to Target's scheme and host, keeping the
// original host (conversations.twilio.com …) as the Host header.
type Transport struct {
	Target *url.URL
	Base   http.RoundTripper // nil means http.DefaultTransport
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	out := req.Clone(req.Context())
	out.Host = req.URL.Host
	out.URL.Scheme = t.Target.Scheme
	out.URL.Host = t.Target.Host
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(out)
}
