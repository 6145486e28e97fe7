package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flexhooks/flexhooks"
)

// common is embedded, as feature requests may share fields.
type common struct {
	Token string `json:"Token"`
}

type interactionDetails struct {
	FlexInteractionSid string `json:"flexInteractionSid"`
}

// parkLike mixes every kind of field a plugin request has.
type parkLike struct {
	common
	ConversationSid string             `json:"conversationSid"`
	WebhookSid      string             `json:"WebhookSid"`
	TaskAttributes  flexhooks.JSON     `json:"taskAttributes"`
	CreateSyncItem  flexhooks.Bool     `json:"createUpdateSyncMapItem"`
	RouteToSame     bool               `json:"RouteToSameWorker"`
	Priority        int                `json:"priority"`
	WorkersToIgnore []string           `json:"workersToIgnore"`
	Details         interactionDetails `json:"interactionDetails"`
	Renamed         string             `json:"renamed" form:"renamedInForms"`
	Ignored         string             `json:"-"`
}

func (p *parkLike) Validate() error {
	if p.ConversationSid == "" {
		return flexhooks.Invalid(map[string]string{"conversationSid": "required"})
	}
	if p.ConversationSid == "plain" {
		return errors.New("conversationSid must not be plain")
	}
	return nil
}

func TestEndpointDecodesFormAndJSONAlike(t *testing.T) {
	t.Parallel()
	want := parkLike{
		common:          common{Token: "tk"},
		ConversationSid: "CH1",
		WebhookSid:      "WH1",
		TaskAttributes:  flexhooks.JSON(`{"a":1,"b":{"c":"d"}}`),
		CreateSyncItem:  true,
		RouteToSame:     true,
		Priority:        7,
		WorkersToIgnore: []string{"WK1", "WK2"},
		Details:         interactionDetails{FlexInteractionSid: "KD1"},
	}
	tests := []struct {
		name string
		req  *http.Request
	}{
		{"form", formRequest("POST", "/x", url.Values{
			"Token": {"tk"}, "conversationSid": {"CH1"}, "WebhookSid": {"WH1"},
			"taskAttributes":          {`{"a": 1, "b": {"c": "d"}}`},
			"createUpdateSyncMapItem": {"true"}, "RouteToSameWorker": {"true"}, "priority": {"7"},
			"workersToIgnore": {"WK1", "WK2"}, "interactionDetails": {`{"flexInteractionSid":"KD1"}`},
			"unknownField": {"ignored"},
		})},
		{"form, case-insensitive names and JSON array", formRequest("POST", "/x", url.Values{
			"token": {"tk"}, "ConversationSid": {"CH1"}, "webhookSid": {"WH1"},
			"taskAttributes":          {`{"a":1,"b":{"c":"d"}}`},
			"createUpdateSyncMapItem": {"1"}, "routeToSameWorker": {"TRUE"}, "priority": {"7"},
			"workersToIgnore": {`["WK1","WK2"]`}, "interactionDetails": {`{"flexInteractionSid":"KD1"}`},
		})},
		{"JSON with typed values", jsonRequest("POST", "/x", `{"Token":"tk","conversationSid":"CH1","WebhookSid":"WH1",
			"taskAttributes":{"a":1,"b":{"c":"d"}},"createUpdateSyncMapItem":true,"RouteToSameWorker":true,"priority":7,
			"workersToIgnore":["WK1","WK2"],"interactionDetails":{"flexInteractionSid":"KD1"},"extra":[1,2]}`)},
		{"JSON with strings, as plugins send them", jsonRequest("POST", "/x", `{"Token":"tk","conversationSid":"CH1","WebhookSid":"WH1",
			"taskAttributes":"{\"a\": 1, \"b\": {\"c\": \"d\"}}","createUpdateSyncMapItem":"true","RouteToSameWorker":true,"priority":7,
			"workersToIgnore":["WK1","WK2"],"interactionDetails":{"flexInteractionSid":"KD1"}}`)},
		{"JSON without Content-Type", func() *http.Request {
			r := jsonRequest("POST", "/x", ` {"Token":"tk","conversationSid":"CH1","WebhookSid":"WH1","taskAttributes":{"a":1,"b":{"c":"d"}},"createUpdateSyncMapItem":"yes","RouteToSameWorker":true,"priority":7,"workersToIgnore":["WK1","WK2"],"interactionDetails":{"flexInteractionSid":"KD1"}}`)
			r.Header.Del("Content-Type")
			return r
		}()},
		{"JSON sent as a form (curl -d)", func() *http.Request {
			r := jsonRequest("POST", "/x", "\n"+`{"Token":"tk","conversationSid":"CH1","WebhookSid":"WH1","taskAttributes":{"a":1,"b":{"c":"d"}},"createUpdateSyncMapItem":true,"RouteToSameWorker":true,"priority":7,"workersToIgnore":["WK1","WK2"],"interactionDetails":{"flexInteractionSid":"KD1"}}`)
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}()},
		{"JSON sent as text/plain (fetch without headers)", func() *http.Request {
			r := jsonRequest("POST", "/x", `{"Token":"tk","conversationSid":"CH1","WebhookSid":"WH1","taskAttributes":{"a":1,"b":{"c":"d"}},"createUpdateSyncMapItem":true,"RouteToSameWorker":true,"priority":7,"workersToIgnore":["WK1","WK2"],"interactionDetails":{"flexInteractionSid":"KD1"}}`)
			r.Header.Set("Content-Type", "text/plain;charset=UTF-8")
			return r
		}()},
		{"GET query string", getRequest("/x?Token=tk&conversationSid=CH1&WebhookSid=WH1&taskAttributes=" +
			url.QueryEscape(`{"a":1,"b":{"c":"d"}}`) + "&createUpdateSyncMapItem=true&RouteToSameWorker=true&priority=7&workersToIgnore=WK1&workersToIgnore=WK2&interactionDetails=" +
			url.QueryEscape(`{"flexInteractionSid":"KD1"}`))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got parkLike
			h := Endpoint(func(ctx context.Context, req *parkLike) (map[string]bool, error) {
				got = *req
				return map[string]bool{"ok": true}, nil
			})
			s := New(Options{Routes: []Route{{Method: "POST", Pattern: "/x", Handler: h}, {Method: "GET", Pattern: "/x", Handler: h}}})
			rec := do(s.Handler(), tt.req)
			require.Equal(t, 200, rec.Code, rec.Body.String())
			assert.JSONEq(t, `{"ok":true}`, rec.Body.String())
			assert.Equal(t, want, got)
		})
	}
}

// TestBodyKind: a JSON object is JSON whatever the Content-Type; a form
// that merely starts with "{" stays a form.
func TestBodyKind(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ct, body string
		want     bodyKindT
	}{
		{"application/x-www-form-urlencoded", `{"a":1}`, kindJSON},
		{"application/x-www-form-urlencoded", ` {"a":1`, kindForm},
		{"application/x-www-form-urlencoded", `{a}=1&b=2`, kindForm},
		{"application/x-www-form-urlencoded", `a=1`, kindForm},
		{"application/x-www-form-urlencoded", `["a"]`, kindForm},
		{"", `["a"]`, kindJSON},
		{"text/plain", `{"a":1}`, kindJSON},
		{"application/json", `a=1`, kindJSON},
		{"", `a=1`, kindForm},
	} {
		r, _ := http.NewRequest(http.MethodPost, "/x", nil)
		r.Header.Set("Content-Type", tc.ct)
		assert.Equal(t, tc.want, bodyKind(r, []byte(tc.body)), "%s %q", tc.ct, tc.body)
	}
}

func getRequest(target string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, target, nil)
	r.RequestURI = target
	return r
}

func TestEndpointFormTag(t *testing.T) {
	t.Parallel()
	var got parkLike
	h := Endpoint(func(ctx context.Context, req *parkLike) (flexhooks.NoContent, error) {
		got = *req
		return flexhooks.NoContent{}, nil
	})
	rec := do(h, formRequest("POST", "/x", url.Values{"renamedInForms": {"v"}, "conversationSid": {"CH"}, "Ignored": {"no"}}))
	require.Equal(t, 204, rec.Code)
	assert.Empty(t, rec.Body.String())
	assert.Equal(t, "v", got.Renamed)
	assert.Empty(t, got.Ignored)
}

func TestEndpointErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		req        *http.Request
		fnErr      error
		wantStatus int
		wantCode   string
		wantMsg    string
		wantFields map[string]string
	}{
		{name: "Validate with fields", req: jsonRequest("POST", "/x", `{}`), wantStatus: 400, wantCode: "invalid",
			wantFields: map[string]string{"conversationSid": "required"}},
		{name: "Validate with plain error", req: jsonRequest("POST", "/x", `{"conversationSid":"plain"}`), wantStatus: 400, wantCode: "invalid",
			wantMsg: "conversationSid must not be plain"},
		{name: "bad bool in form", req: formRequest("POST", "/x", url.Values{"conversationSid": {"CH"}, "createUpdateSyncMapItem": {"maybe"}}),
			wantStatus: 400, wantCode: "invalid", wantFields: map[string]string{"createUpdateSyncMapItem": "must be true or false"}},
		{name: "bad JSON-in-string in form", req: formRequest("POST", "/x", url.Values{"conversationSid": {"CH"}, "taskAttributes": {"{nope"}}),
			wantStatus: 400, wantCode: "invalid", wantFields: map[string]string{"taskAttributes": "must be valid JSON"}},
		{name: "bad int in form", req: formRequest("POST", "/x", url.Values{"conversationSid": {"CH"}, "priority": {"high"}}),
			wantStatus: 400, wantCode: "invalid", wantFields: map[string]string{"priority": "must be an integer"}},
		{name: "wrong JSON type", req: jsonRequest("POST", "/x", `{"conversationSid":5}`), wantStatus: 400, wantCode: "invalid",
			wantFields: map[string]string{"conversationSid": "must be a string"}},
		{name: "malformed JSON", req: jsonRequest("POST", "/x", `{"conversationSid":`), wantStatus: 400, wantCode: "invalid", wantMsg: "malformed JSON body"},
		{name: "not found", req: jsonRequest("POST", "/x", `{"conversationSid":"CH"}`), fnErr: flexhooks.Errorf(flexhooks.ENOTFOUND, "no such conversation"),
			wantStatus: 404, wantCode: "not_found", wantMsg: "no such conversation"},
		{name: "conflict", req: jsonRequest("POST", "/x", `{"conversationSid":"CH"}`), fnErr: flexhooks.Errorf(flexhooks.ECONFLICT, "already parked"),
			wantStatus: 409, wantCode: "conflict"},
		{name: "unprocessable", req: jsonRequest("POST", "/x", `{"conversationSid":"CH"}`), fnErr: flexhooks.Errorf(flexhooks.EUNPROCESSABLE, "x"),
			wantStatus: 422, wantCode: "unprocessable"},
		{name: "upstream hides Twilio details", req: jsonRequest("POST", "/x", `{"conversationSid":"CH"}`),
			fnErr:      &flexhooks.Error{Code: flexhooks.EUPSTREAM, Message: "Twilio refused the update", TwilioCode: 50377, Err: errors.New("secret internal detail")},
			wantStatus: 502, wantCode: "upstream_error", wantMsg: "Twilio refused the update"},
		{name: "unavailable", req: jsonRequest("POST", "/x", `{"conversationSid":"CH"}`), fnErr: flexhooks.Errorf(flexhooks.EUNAVAILABLE, "retry"),
			wantStatus: 503, wantCode: "unavailable"},
		{name: "plain error is internal", req: jsonRequest("POST", "/x", `{"conversationSid":"CH"}`), fnErr: errors.New("secret internal detail"),
			wantStatus: 500, wantCode: "internal", wantMsg: "internal error"},
		{name: "wrapped flexhooks error", req: jsonRequest("POST", "/x", `{"conversationSid":"CH"}`),
			fnErr:      fmt.Errorf("park: %w", flexhooks.Errorf(flexhooks.EFORBIDDEN, "not your conversation")),
			wantStatus: 403, wantCode: "forbidden", wantMsg: "not your conversation"},
		{name: "deadline", req: jsonRequest("POST", "/x", `{"conversationSid":"CH"}`), fnErr: fmt.Errorf("calling Twilio: %w", context.DeadlineExceeded),
			wantStatus: 503, wantCode: "unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			log, logs := testLogger()
			h := Endpoint(func(ctx context.Context, req *parkLike) (map[string]bool, error) {
				if tt.fnErr != nil {
					return nil, tt.fnErr
				}
				return map[string]bool{"ok": true}, nil
			})
			s := New(Options{Logger: log, Routes: []Route{{Method: "POST", Pattern: "/x", Handler: h}}})
			rec := do(s.Handler(), tt.req)
			require.Equal(t, tt.wantStatus, rec.Code, rec.Body.String())
			e := decodeError(t, rec)
			assert.Equal(t, tt.wantCode, e.Error.Code)
			if tt.wantMsg != "" {
				assert.Equal(t, tt.wantMsg, e.Error.Message)
			}
			assert.Equal(t, tt.wantFields, e.Error.Fields)
			assert.NotContains(t, rec.Body.String(), "secret internal detail")
			assert.NotContains(t, rec.Body.String(), "50377")
			if tt.fnErr != nil && strings.Contains(tt.fnErr.Error(), "secret") {
				// The cause is logged with the request id instead.
				assert.Contains(t, logs.String(), "secret internal detail")
				assert.Contains(t, logs.String(), `"requestId":"`+rec.Header().Get("X-Request-Id")+`"`)
			}
			if tt.name == "upstream hides Twilio details" {
				assert.Contains(t, logs.String(), `"twilioCode":50377`)
			}
		})
	}
}

func TestEndpointResponses(t *testing.T) {
	t.Parallel()
	type resp struct {
		Parked bool `json:"parked"`
	}
	tests := []struct {
		name     string
		h        http.Handler
		wantCode int
		wantBody string
	}{
		{"struct is 200 JSON, never 201", Endpoint(func(context.Context, *struct{}) (resp, error) { return resp{Parked: true}, nil }), 200, `{"parked":true}`},
		{"nil pointer is an empty object", Endpoint(func(context.Context, *struct{}) (*resp, error) { return nil, nil }), 200, `{}`},
		{"NoContent is 204", Endpoint(func(context.Context, *struct{}) (flexhooks.NoContent, error) { return flexhooks.NoContent{}, nil }), 204, ``},
		{"NoContent through any", Endpoint(func(context.Context, *struct{}) (any, error) { return flexhooks.NoContent{}, nil }), 204, ``},
		{"unencodable is a clean 500", Endpoint(func(context.Context, *struct{}) (any, error) { return map[string]any{"f": func() {}}, nil }), 500, `{"error":{"code":"internal","message":"internal error"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(tt.h, jsonRequest("POST", "/x", `{}`))
			require.Equal(t, tt.wantCode, rec.Code)
			if tt.wantBody == "" {
				assert.Empty(t, rec.Body.String())
			} else {
				assert.JSONEq(t, tt.wantBody, rec.Body.String())
			}
		})
	}
}

func TestHTTPStatus(t *testing.T) {
	t.Parallel()
	tests := map[string]int{
		flexhooks.EINVALID: 400, flexhooks.EUNAUTHORIZED: 401, flexhooks.EFORBIDDEN: 403, flexhooks.ENOTFOUND: 404,
		flexhooks.ECONFLICT: 409, flexhooks.EUNPROCESSABLE: 422, flexhooks.EUPSTREAM: 502, flexhooks.EUNAVAILABLE: 503,
		flexhooks.EINTERNAL: 500, CodeMethodNotAllowed: 405, CodeTooLarge: 413, "made-up": 500,
	}
	for code, want := range tests {
		assert.Equal(t, want, HTTPStatus(code), code)
	}
}

func TestFormDecoderShadowing(t *testing.T) {
	t.Parallel()
	type inner struct {
		Token string `json:"Token"`
		Deep  string `json:"deep"`
	}
	type outer struct {
		inner
		Token string `json:"Token"`
	}
	var got outer
	h := Endpoint(func(ctx context.Context, req *outer) (flexhooks.NoContent, error) {
		got = *req
		return flexhooks.NoContent{}, nil
	})
	rec := do(h, formRequest("POST", "/x", url.Values{"Token": {"t"}, "deep": {"d"}}))
	require.Equal(t, 204, rec.Code, rec.Body.String())
	assert.Equal(t, "t", got.Token, "the outer field takes the value")
	assert.Empty(t, got.inner.Token)
	assert.Equal(t, "d", got.Deep, "embedded fields are reachable")
}

func TestEndpointNonStructRequest(t *testing.T) {
	t.Parallel()
	h := Endpoint(func(ctx context.Context, req *map[string]any) (map[string]any, error) { return *req, nil })
	rec := do(h, jsonRequest("POST", "/x", `{"a":1}`))
	require.Equal(t, 200, rec.Code)
	assert.JSONEq(t, `{"a":1}`, rec.Body.String())
	rec = do(h, formRequest("POST", "/x", url.Values{"a": {"1"}}))
	assert.Equal(t, 400, rec.Code, "form bodies need a struct")
}
