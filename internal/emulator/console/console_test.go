package console

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOwns(t *testing.T) {
	for _, tc := range []struct {
		path string
		want bool
	}{
		{"/", true},
		{"/console/js/main.js", true},
		{"/emulator/console/config", true},
		{"/emulator/console/twilio/taskrouter/v1/Workspaces", true},
		{"/emulator/state", false},
		{"/emulator/console", false},
		{"/v1/Workspaces", false},
		{"/favicon.ico", false},
	} {
		t.Run(tc.path, func(t *testing.T) {
			assert.Equal(t, tc.want, Owns(tc.path))
		})
	}
}

func TestOrigins(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want []string
	}{
		{"http://127.0.0.1:4010", []string{"http://127.0.0.1:4010", "http://localhost:4010"}},
		{"http://localhost:4010/", []string{"http://localhost:4010", "http://127.0.0.1:4010"}},
		{"http://emulator.internal:4010", []string{"http://emulator.internal:4010"}},
		{"https://emu.example.com", []string{"https://emu.example.com"}},
		{"", nil},
		{"::not a url", nil},
	} {
		t.Run(tc.url, func(t *testing.T) {
			assert.Equal(t, tc.want, Origins(tc.url))
		})
	}
}

func get(t *testing.T, h http.Handler, method, path string, body io.Reader) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, body))
	return rec
}

func TestPageAndAssets(t *testing.T) {
	c := New(Options{})
	t.Run("index", func(t *testing.T) {
		rec := get(t, c, http.MethodGet, "/", nil)
		require.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
		assert.Contains(t, rec.Header().Get("Content-Security-Policy"), "default-src 'self'")
		assert.Contains(t, rec.Body.String(), `<script type="module" src="/console/js/main.js">`)
	})
	t.Run("every asset the page names is embedded", func(t *testing.T) {
		for _, path := range []string{"/console/console.css", "/console/js/main.js", "/console/js/api.js",
			"/console/js/dom.js", "/console/js/model.js", "/console/js/view.js"} {
			rec := get(t, c, http.MethodGet, path, nil)
			assert.Equal(t, http.StatusOK, rec.Code, path)
			assert.NotEmpty(t, rec.Body.String(), path)
		}
		assert.Contains(t, get(t, c, http.MethodGet, "/console/js/main.js", nil).Header().Get("Content-Type"), "javascript")
	})
	t.Run("nothing is fetched from elsewhere", func(t *testing.T) {
		for _, path := range []string{"/", "/console/console.css", "/console/js/main.js", "/console/js/view.js"} {
			body := get(t, c, http.MethodGet, path, nil).Body.String()
			assert.NotRegexp(t, `(src|href)="https?://|@import|url\(https?:`, body, path)
		}
	})
	t.Run("refuses writes", func(t *testing.T) {
		assert.Equal(t, http.StatusMethodNotAllowed, get(t, c, http.MethodPost, "/", nil).Code)
		assert.Equal(t, http.StatusMethodNotAllowed, get(t, c, http.MethodDelete, "/console/console.css", nil).Code)
	})
	t.Run("unknown asset", func(t *testing.T) {
		assert.Equal(t, http.StatusNotFound, get(t, c, http.MethodGet, "/console/nope.js", nil).Code)
	})
}

func TestConfig(t *testing.T) {
	c := New(Options{})
	assert.JSONEq(t, `{"serviceUrl":""}`, get(t, c, http.MethodGet, configPath, nil).Body.String())
	c.SetServiceURL("http://localhost:8080/")
	assert.JSONEq(t, `{"serviceUrl":"http://localhost:8080"}`, get(t, c, http.MethodGet, configPath, nil).Body.String())
	assert.Equal(t, http.StatusMethodNotAllowed, get(t, c, http.MethodPut, configPath, strings.NewReader(`{}`)).Code)
}

// twilioStub records the request the relay made and answers a fixed status.
type twilioStub struct {
	got    *http.Request
	body   string
	status int
}

func (s *twilioStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.got = r
	b, _ := io.ReadAll(r.Body)
	s.body = string(b)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(s.status)
	_, _ = io.WriteString(w, `{"sid":"WR"}`)
}

const (
	ws  = "WS00000000000000000000000000000001"
	wt  = "WT00000000000000000000000000000002"
	wr  = "WR00000000000000000000000000000003"
	ch  = "CH00000000000000000000000000000004"
	sid = "AC00000000000000000000000000000000"
)

func TestRelay(t *testing.T) {
	reservation := "/v1/Workspaces/" + ws + "/Tasks/" + wt + "/Reservations/" + wr
	for _, tc := range []struct {
		name, method, path string
		twilioStatus       int
		settleErr          error
		wantStatus         int
		wantHost           string // "" = Twilio must not be called
		wantSettled        bool
	}{
		{"accept a reservation", http.MethodPost, "taskrouter" + reservation, 200, nil, 200, "taskrouter.twilio.com", true},
		{"an agent writes", http.MethodPost, "conversations/v1/Conversations/" + ch + "/Messages", 201, nil, 201, "conversations.twilio.com", true},
		{"Twilio's error is passed on, nothing to wait for", http.MethodPost, "taskrouter" + reservation, 400, nil, 400, "taskrouter.twilio.com", false},
		{"webhooks still in flight", http.MethodPost, "taskrouter" + reservation, 200, context.DeadlineExceeded, http.StatusGatewayTimeout, "taskrouter.twilio.com", true},
		{"not a call the page makes", http.MethodPost, "taskrouter/v1/Workspaces/" + ws + "/Tasks/" + wt, 200, nil, 403, "", false},
		{"not a conversation's own webhooks", http.MethodPost, "conversations/v1/Conversations/" + ch + "/Webhooks", 200, nil, 403, "", false},
		{"no reading through the relay", http.MethodGet, "taskrouter" + reservation, 200, nil, 403, "", false},
		{"another product", http.MethodPost, "sync/v1/Services/default/Maps", 200, nil, 403, "", false},
		{"a path that escapes the pattern", http.MethodPost, "taskrouter" + reservation + "/../../Workers", 200, nil, 403, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stub := &twilioStub{status: tc.twilioStatus}
			settled := false
			c := New(Options{Twilio: stub, AccountSID: sid, AuthToken: "secret", Settle: func(context.Context) error {
				settled = true
				return tc.settleErr
			}})
			req := httptest.NewRequest(tc.method, relayPrefix+tc.path, strings.NewReader("ReservationStatus=accepted"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Twilio-Webhook-Enabled", "true")
			rec := httptest.NewRecorder()
			c.ServeHTTP(rec, req)
			assert.Equal(t, tc.wantStatus, rec.Code, rec.Body.String())
			assert.Equal(t, tc.wantSettled, settled, "settled")
			if tc.wantHost == "" {
				assert.Nil(t, stub.got, "Twilio was called")
				return
			}
			require.NotNil(t, stub.got)
			assert.Equal(t, tc.wantHost, stub.got.Host)
			user, pass, ok := stub.got.BasicAuth()
			assert.True(t, ok)
			assert.Equal(t, sid, user)
			assert.Equal(t, "secret", pass)
			assert.Equal(t, "ReservationStatus=accepted", stub.body)
			assert.Equal(t, "application/x-www-form-urlencoded", stub.got.Header.Get("Content-Type"))
			assert.Equal(t, "true", stub.got.Header.Get("X-Twilio-Webhook-Enabled"))
			if tc.settleErr == nil {
				assert.JSONEq(t, `{"sid":"WR"}`, rec.Body.String())
			}
		})
	}
}

func TestRelayWithoutWait(t *testing.T) {
	stub := &twilioStub{status: 200}
	c := New(Options{Twilio: stub, Settle: func(context.Context) error { return errors.New("must not wait") }})
	rec := get(t, c, http.MethodPost, relayPrefix+"taskrouter/v1/Workspaces/"+ws+"/Tasks/"+wt+"/Reservations/"+wr+"?wait=false", strings.NewReader(""))
	assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
}
