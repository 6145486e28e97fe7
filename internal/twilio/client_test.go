package twilio

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"
)

func TestNewChecksOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"no account", Options{AuthToken: testAuthToken}},
		{"no token", Options{AccountSID: testAccountSID}},
		{"key without secret", Options{AccountSID: testAccountSID, AuthToken: testAuthToken, APIKey: "SK1"}},
		{"bad emulator url", Options{AccountSID: testAccountSID, AuthToken: testAuthToken, EmulatorURL: "127.0.0.1:4010"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.opts)
			assert.Error(t, err)
		})
	}
}

// TestAPIConcurrentUse checks that one request's API may fan out calls
// concurrently (errgroup), as the webhooks do.
func TestAPIConcurrentUse(t *testing.T) {
	srv, hits := serve(t, okConversation)
	c, _ := newTestClient(t, srv, nil)
	api := c.API(context.Background())
	var g errgroup.Group
	for range 20 {
		g.Go(func() error { return fetchConversation(api) })
	}
	require.NoError(t, g.Wait())
	assert.EqualValues(t, 20, hits.n.Load())
}

// TestTwoClientsShareRegistry checks that a second client on the same
// registry reuses the registered collectors instead of failing.
func TestTwoClientsShareRegistry(t *testing.T) {
	srv, _ := serve(t, okConversation)
	_, reg := newTestClient(t, srv, nil)
	_, err := New(Options{AccountSID: testAccountSID, AuthToken: testAuthToken, Registerer: reg})
	require.NoError(t, err)
}

func TestProduct(t *testing.T) {
	for host, want := range map[string]string{
		"conversations.twilio.com": "conversations",
		"flex-api.twilio.com":      "flex-api",
		"taskrouter.twilio.com":    "taskrouter",
		"sync.twilio.com":          "sync",
		"iam.twilio.com:443":       "iam",
		"127.0.0.1:4010":           "other",
	} {
		assert.Equal(t, want, product(host), host)
	}
}
