// Package docs holds the documents the service serves itself: its OpenAPI
// description (openapi.yaml), embedded so that the binary answers
// GET /openapi.json with the very file the tests validate against.
package docs

import _ "embed"

// OpenAPI is docs/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte
