package e2etest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/flexhooks/flexhooks/internal/app"
)

// flexhooks' own API description (docs/openapi.yaml), loaded once per test
// binary: every plugin call a test sends through the harness, and every
// answer, is validated against it, so that the document cannot drift from
// the code.
var (
	apiOnce   sync.Once
	apiRouter routers.Router
	apiErr    error
)

func openAPIRouter() (routers.Router, error) {
	apiOnce.Do(func() {
		var doc *openapi3.T
		if doc, apiErr = app.OpenAPI(); apiErr != nil {
			return
		}
		// The replicas listen on random ports: match any host.
		doc.Servers = nil
		apiRouter, apiErr = gorillamux.NewRouter(doc)
	})
	return apiRouter, apiErr
}

// checkAPI validates one exchange with the service: the request when the
// service accepted it (a refused request is often malformed on purpose),
// the answer always (errors against the Error schema).
func (w *World) checkAPI(req *http.Request, status int, header http.Header, body []byte) {
	w.T.Helper()
	router, err := openAPIRouter()
	if err != nil {
		w.T.Errorf("docs/openapi.yaml: %v", err)
		return
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		w.T.Errorf("docs/openapi.yaml has no operation for %s %s: %v", req.Method, req.URL.Path, err)
		return
	}
	in := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
	}
	if req.GetBody != nil {
		rd, err := req.GetBody()
		if err == nil {
			b, _ := io.ReadAll(rd)
			req.Body = io.NopCloser(bytes.NewReader(b))
		}
	}
	ctx := context.Background()
	if status < 400 {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			w.T.Errorf("%s %s: the request does not match docs/openapi.yaml: %v", req.Method, req.URL.Path, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: status, Header: header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	out.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		w.T.Errorf("%s %s → %d: the answer does not match docs/openapi.yaml: %v\n%.500s", req.Method, req.URL.Path, status, err, body)
	}
}
