package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/flexhooks/flexhooks/docs"
	"github.com/flexhooks/flexhooks/internal/server"
)

// OpenAPI loads docs/openapi.yaml, flexhooks' own API description, and
// checks it is a valid OpenAPI document.
func OpenAPI() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(docs.OpenAPI)
	if err != nil {
		return nil, fmt.Errorf("docs/openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("docs/openapi.yaml: %w", err)
	}
	return doc, nil
}

// openAPIRoutes serves the description as JSON at GET /openapi.json, so
// that a plugin developer generates a client from the running service.
func openAPIRoutes() ([]server.Route, error) {
	doc, err := OpenAPI()
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	return []server.Route{{Method: http.MethodGet, Pattern: "/openapi.json", Name: "openapi", Auth: server.AuthNone, Handler: h}}, nil
}
