package app_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flexhooks/flexhooks/internal/app"
	"github.com/flexhooks/flexhooks/internal/config"
	"github.com/flexhooks/flexhooks/internal/isoduration"
)

// TestOpenAPICoversEveryRoute fails when a route the service mounts (every
// capability on) is missing from docs/openapi.yaml, or the document
// describes a route that does not exist.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	doc, err := app.OpenAPI()
	require.NoError(t, err)
	cfg := config.Config{
		AccountSID: "AC00000000000000000000000000000000", AuthToken: "token", EmulatorURL: "http://127.0.0.1:1",
		WorkspaceSID: "WS00000000000000000000000000000000", ChatServiceSID: "IS00000000000000000000000000000000", SyncServiceSID: "default",
		TwilioTimeout: time.Second, TwilioMaxAttempts: 1, PublicBaseURL: "http://localhost:8080", MaxRequestBodyBytes: 1 << 20,
		ParkedList: true, InteractionRecords: true, PersistentChat: config.PersistentChatEntirePastSession,
		PersistentChatWindow: isoduration.Duration(7 * 24 * time.Hour), InactivityTimeout: isoduration.Duration(30 * time.Minute),
	}
	a, err := app.New(cfg, nil, nil)
	require.NoError(t, err)

	mounted := map[string]bool{}
	for _, r := range a.Routes {
		mounted[r.Method+" "+r.Pattern] = true
	}
	// The server's own operator routes.
	for _, r := range []string{"GET /healthz", "HEAD /healthz", "GET /readyz", "HEAD /readyz", "GET /metrics"} {
		mounted[r] = true
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	for r := range mounted {
		assert.True(t, documented[r], "%s is mounted but not in docs/openapi.yaml", r)
	}
	for r := range documented {
		assert.True(t, mounted[r], "docs/openapi.yaml describes %s, which no route serves", r)
	}
}

func TestOpenAPIIsServed(t *testing.T) {
	_, svc := start(t)
	status, body := do(t, http.MethodGet, svc.URL+"/openapi.json", "", nil)
	require.Equal(t, http.StatusOK, status)
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &doc))
	assert.True(t, strings.HasPrefix(doc.OpenAPI, "3.1"))
	assert.Contains(t, doc.Paths, "/transfer")
}
