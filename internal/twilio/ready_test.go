package twilio

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flexhooks/flexhooks"
)

func TestReady(t *testing.T) {
	t.Run("workspace", func(t *testing.T) {
		var mu sync.Mutex
		var host, path string
		srv, _ := serve(t, func(_ int32, w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			host, path = r.Host, r.URL.Path
			mu.Unlock()
			writeJSON(w, 200, `{"sid":"`+testWSSID+`"}`)
		})
		c, _ := newTestClient(t, srv, func(o *Options) { o.WorkspaceSID = testWSSID })
		require.NoError(t, c.Ready(context.Background()))
		mu.Lock()
		defer mu.Unlock()
		assert.Equal(t, "taskrouter.twilio.com", host)
		assert.Equal(t, "/v1/Workspaces/"+testWSSID, path)
	})
	t.Run("conversations configuration", func(t *testing.T) {
		var mu sync.Mutex
		var host, path string
		srv, _ := serve(t, func(_ int32, w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			host, path = r.Host, r.URL.Path
			mu.Unlock()
			writeJSON(w, 200, `{"account_sid":"`+testAccountSID+`"}`)
		})
		c, _ := newTestClient(t, srv, nil)
		require.NoError(t, c.Ready(context.Background()))
		mu.Lock()
		defer mu.Unlock()
		assert.Equal(t, "conversations.twilio.com", host)
		assert.Equal(t, "/v1/Configuration", path)
	})
	t.Run("bad credentials are logged loudly", func(t *testing.T) {
		srv, _ := serve(t, func(_ int32, w http.ResponseWriter, _ *http.Request) { twilioError(w, 401, 20003) })
		var buf bytes.Buffer
		var mu sync.Mutex
		c, _ := newTestClient(t, srv, func(o *Options) {
			o.Logger = slog.New(slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, nil))
		})
		err := c.Ready(context.Background())
		assert.Equal(t, flexhooks.EUPSTREAM, flexhooks.ErrorCode(err))
		mu.Lock()
		defer mu.Unlock()
		assert.Contains(t, buf.String(), "level=ERROR")
		assert.Contains(t, buf.String(), "rejected the service's credentials")
		assert.NotContains(t, buf.String(), testAuthToken)
	})
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
