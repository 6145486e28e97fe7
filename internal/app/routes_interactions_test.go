package app

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPlusInAddress(t *testing.T) {
	for _, tc := range []struct{ query, want string }{
		{"address=+15551230001", "+15551230001"},
		{"channel=sms&address=+15551230001&pageSize=2", "+15551230001"},
		{"address=%2B15551230001", "+15551230001"},
		{"address=whatsapp:%2B15551230001", "whatsapp:+15551230001"},
		{"address=alice@example.com", "alice@example.com"},
	} {
		var got string
		h := plusInAddress(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.URL.Query().Get("address") }))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/interactions?"+tc.query, nil))
		assert.Equal(t, tc.want, got, tc.query)
	}
}
