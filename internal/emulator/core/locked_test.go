package core

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// echoForm answers with the parameter "v" it read through core.Form.
func echoForm(w http.ResponseWriter, r *http.Request) {
	p, err := Form(r)
	if err != nil {
		WriteError(w, err)
		return
	}
	_, _ = io.WriteString(w, p.Get("v"))
}

func TestLockedPassesTheBodyThrough(t *testing.T) {
	env := testEnv()
	h := Locked(env, http.HandlerFunc(echoForm))
	for _, tc := range []struct {
		name, body, want string
	}{
		{"small form", "v=hello", "hello"},
		{"empty body", "", ""},
		{"beyond the pre-read", "pad=" + strings.Repeat("x", maxPrereadBody) + "&v=tail", "tail"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "https://conversations.twilio.com/v1/Conversations", strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			assert.Equal(t, http.StatusOK, w.Code)
			assert.Equal(t, tc.want, w.Body.String())
		})
	}
}

// A client that sends its body slowly must not hold the world lock: the
// other clients' calls go on meanwhile.
func TestLockedSlowBodyDoesNotBlockOthers(t *testing.T) {
	env := testEnv()
	srv := httptest.NewServer(Locked(env, http.HandlerFunc(echoForm)))
	t.Cleanup(srv.Close)

	slow, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer slow.Close()
	_, err = fmt.Fprintf(slow, "POST /slow HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\nv=sl")
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/fast", strings.NewReader("v=fast"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := srv.Client().Do(req)
	require.NoError(t, err, "a half-sent body elsewhere must not block this call")
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "fast", string(b))

	_, err = io.WriteString(slow, "ow!")
	require.NoError(t, err)
	slowResp, err := http.ReadResponse(bufio.NewReader(slow), nil)
	require.NoError(t, err)
	b, _ = io.ReadAll(slowResp.Body)
	slowResp.Body.Close()
	assert.Equal(t, "slow!", string(b), "the slow call completes once its body arrives")
}
