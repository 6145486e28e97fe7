package server

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Vectors published by Twilio: the example of its webhook security docs (and
// the helper libraries' READMEs) and the cases of twilio-go's
// client/request_validator_test.go. Auth token 12345, URL
// https://mycompany.com/myapp.php?foo=1&bar=2.
const (
	vecToken = "12345"
	vecPath  = "/myapp.php?foo=1&bar=2"
	// bodySHA256 of vecJSONBody.
	vecBodyHash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
	vecJSONBody = `{"property": "value", "boolean": true}`
)

var (
	// Twilio docs' example POST parameters.
	vecDocsParams = url.Values{
		"CallSid": {"CA1234567890ABCDE"},
		"Caller":  {"+14158675309"},
		"Digits":  {"1234"},
		"From":    {"+14158675309"},
		"To":      {"+18005551212"},
	}
	// twilio-go's parameters (two more, whose sort order matters).
	vecGoParams = url.Values{
		"Digits":                {"1234"},
		"CallSid":               {"CA1234567890ABCDE"},
		"To":                    {"+18005551212"},
		"Caller":                {"+14158675309"},
		"From":                  {"+14158675309"},
		"ReasonConferenceEnded": {"test"},
		"Reason":                {"Participant"},
	}
)

func TestSignature(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		base      string // PublicBaseURL
		target    string // request path and query
		form      url.Values
		jsonBody  string
		signature string
		want      int
	}{
		{name: "docs example", base: "https://mycompany.com", target: vecPath, form: vecDocsParams, signature: "RSOYDt4T1cUTdK1PDd93/VVr8B8=", want: 200},
		{name: "twilio-go params", base: "https://mycompany.com", target: vecPath, form: vecGoParams, signature: "vOEb5UThFn24KEfnOFLQY2AE5FY=", want: 200},
		{name: "https base with port, signed without", base: "https://mycompany.com:1234", target: vecPath, form: vecGoParams, signature: "vOEb5UThFn24KEfnOFLQY2AE5FY=", want: 200},
		{name: "http base", base: "http://mycompany.com", target: vecPath, form: vecGoParams, signature: "n2xBNyzSW7rfYStDtOFiFMv7qNo=", want: 200},
		{name: "http base with port, signed without", base: "http://mycompany.com:1234", target: vecPath, form: vecGoParams, signature: "n2xBNyzSW7rfYStDtOFiFMv7qNo=", want: 200},
		{name: "trailing slash on base", base: "https://mycompany.com/", target: vecPath, form: vecGoParams, signature: "vOEb5UThFn24KEfnOFLQY2AE5FY=", want: 200},
		{name: "params sorted wrong", base: "https://mycompany.com", target: vecPath, form: vecGoParams, signature: "95+Bu0JVPi0r/SsESZCVf0dWAjw=", want: 403},
		{name: "form body", base: "https://mycompany.com", target: vecPath, form: url.Values{"property": {"value"}, "boolean": {"true"}}, signature: "NBdBDr/T/lgjI+tlgpXjKZQZs/k=", want: 200},
		{name: "json body", base: "https://mycompany.com", target: vecPath + "&bodySHA256=" + vecBodyHash, jsonBody: vecJSONBody, signature: "a9nBmqA0ju/hNViExpshrM61xv4=", want: 200},
		{name: "json body, no other query", base: "https://mycompany.com", target: "/myapp.php?bodySHA256=" + vecBodyHash, jsonBody: vecJSONBody, signature: "y77kIzt2vzLz71DgmJGsen2scGs=", want: 200},
		{name: "json body tampered", base: "https://mycompany.com", target: vecPath + "&bodySHA256=" + vecBodyHash, jsonBody: `{"property": "evil", "boolean": true}`, signature: "a9nBmqA0ju/hNViExpshrM61xv4=", want: 403},
		{name: "json body without bodySHA256", base: "https://mycompany.com", target: vecPath, jsonBody: vecJSONBody, signature: "vOEb5UThFn24KEfnOFLQY2AE5FY=", want: 403},
		{name: "form param tampered", base: "https://mycompany.com", target: vecPath, form: url.Values{"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+14158675309"}, "Digits": {"9999"}, "From": {"+14158675309"}, "To": {"+18005551212"}}, signature: "RSOYDt4T1cUTdK1PDd93/VVr8B8=", want: 403},
		{name: "other public host", base: "https://evil.example", target: vecPath, form: vecDocsParams, signature: "RSOYDt4T1cUTdK1PDd93/VVr8B8=", want: 403},
		{name: "query changed", base: "https://mycompany.com", target: "/myapp.php?foo=1&bar=3", form: vecDocsParams, signature: "RSOYDt4T1cUTdK1PDd93/VVr8B8=", want: 403},
		{name: "missing signature", base: "https://mycompany.com", target: vecPath, form: vecDocsParams, signature: "", want: 403},
		{name: "malformed signature", base: "https://mycompany.com", target: vecPath, form: vecDocsParams, signature: "not base64!", want: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := New(Options{AuthToken: vecToken, PublicBaseURL: tt.base, Routes: []Route{
				{Method: http.MethodPost, Pattern: "/myapp.php", Auth: AuthSignature, Handler: echoBody},
			}})
			// The request reaches us as a TLS-terminating proxy forwards it:
			// plain http, an internal host. Only the public URL may count.
			var req *http.Request
			var body string
			if tt.jsonBody != "" {
				body = tt.jsonBody
				req = jsonRequest(http.MethodPost, "http://10.0.0.7:8080"+tt.target, body)
			} else {
				body = tt.form.Encode()
				req = formRequest(http.MethodPost, "http://10.0.0.7:8080"+tt.target, tt.form)
			}
			req.RequestURI = tt.target // as net/http sets it on the server side
			if tt.signature != "" {
				req.Header.Set("X-Twilio-Signature", tt.signature)
			}
			rec := do(s.Handler(), req)
			require.Equal(t, tt.want, rec.Code, "body: %s", rec.Body)
			if tt.want == 200 {
				assert.Equal(t, body, rec.Body.String(), "the handler must still read the whole body")
				return
			}
			e := decodeError(t, rec)
			assert.Equal(t, "forbidden", e.Error.Code)
			assert.Equal(t, "invalid Twilio signature", e.Error.Message, "no detail of why leaks to the caller")
		})
	}
}

func TestSignatureRepeatedParams(t *testing.T) {
	t.Parallel()
	s := New(Options{AuthToken: "tok", PublicBaseURL: "https://hooks.example.com", Routes: []Route{
		{Method: http.MethodPost, Pattern: "/hook", Auth: AuthSignature, Handler: echoBody},
	}})
	form := url.Values{"A": {"2", "1"}, "B": {"x"}}
	tests := []struct {
		name   string
		signed url.Values
	}{
		{"values in the order sent (the emulator)", url.Values{"A": {"2", "1"}, "B": {"x"}}},
		{"values sorted (Twilio's helper libraries)", url.Values{"A": {"1", "2"}, "B": {"x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := formRequest(http.MethodPost, "/hook", form)
			req.Header.Set("X-Twilio-Signature", sign("tok", "https://hooks.example.com/hook", tt.signed))
			rec := do(s.Handler(), req)
			assert.Equal(t, 200, rec.Code, rec.Body.String())
		})
	}
}

func TestSignatureFailsClosed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, token, base string
	}{
		{"no auth token", "", "https://hooks.example.com"},
		{"no public URL", "tok", ""},
		{"relative public URL", "tok", "/hooks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Options{AuthToken: tt.token, PublicBaseURL: tt.base, Routes: []Route{
				{Method: http.MethodPost, Pattern: "/hook", Auth: AuthSignature, Handler: echoBody},
			}})
			form := url.Values{"A": {"1"}}
			req := formRequest(http.MethodPost, "/hook", form)
			// Signed with an empty key over the request's own URL: must not pass.
			req.Header.Set("X-Twilio-Signature", sign(tt.token, "http://example.com/hook", form))
			rec := do(s.Handler(), req)
			assert.Equal(t, 403, rec.Code)
		})
	}
}

func TestSignatureBases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{"https://h.example", []string{"https://h.example", "https://h.example:443"}},
		{"http://h.example/", []string{"http://h.example", "http://h.example:80"}},
		{"https://h.example:8443/prefix/", []string{"https://h.example:8443/prefix", "https://h.example/prefix"}},
		{"https://[::1]:8443", []string{"https://[::1]:8443", "https://[::1]"}},
	}
	for _, tt := range tests {
		got, err := signatureBases(tt.in)
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
	for _, bad := range []string{"", "ftp://h", "https://h?x=1", "h.example"} {
		_, err := signatureBases(bad)
		assert.Error(t, err, bad)
	}
}

// A path prefix in PublicBaseURL is the one a proxy strips.
func TestSignaturePublicPathPrefix(t *testing.T) {
	t.Parallel()
	s := New(Options{AuthToken: "tok", PublicBaseURL: "https://gw.example.com/flexhooks", Routes: []Route{
		{Method: http.MethodPost, Pattern: "/webhooks/x", Auth: AuthSignature, Handler: echoBody},
	}})
	form := url.Values{"EventType": {"onMessageAdded"}}
	req := formRequest(http.MethodPost, "/webhooks/x?a=b", form)
	req.Header.Set("X-Twilio-Signature", sign("tok", "https://gw.example.com/flexhooks/webhooks/x?a=b", form))
	rec := do(s.Handler(), req)
	assert.Equal(t, 200, rec.Code, rec.Body.String())
	assert.True(t, strings.Contains(rec.Body.String(), "EventType"))
}
