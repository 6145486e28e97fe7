package conversations

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBadInputNever5xx throws malformed requests at every route: each must
// get a Twilio 4xx, never a 5xx or a panic.
func TestBadInputNever5xx(t *testing.T) {
	f := newFixture(t)
	c, err := f.c.ConversationsV1.CreateConversation(nil)
	require.NoError(t, err)
	conv := "/v1/Conversations/" + *c.Sid
	svc := "/v1/Services/" + f.store.DefaultServiceSID() + "/Conversations/" + *c.Sid

	for _, tc := range []struct {
		method, path, body string
		want               int
	}{
		{"GET", "/v1/Nope", "", 404},
		{"GET", "/", "", 404},
		{"PUT", "/v1/Conversations", "", 405},
		{"POST", "/v1/Conversations", "%zz", 400},
		{"POST", "/v1/Conversations", "Timers.Inactive=P1Y", 400},
		{"POST", "/v1/Conversations", "DateCreated=yesterday", 400},
		{"POST", "/v1/Conversations", "MessagingServiceSid=nope", 400},
		{"GET", "/v1/Conversations?PageSize=-1", "", 400},
		{"GET", "/v1/Conversations?PageToken=zz", "", 400},
		{"GET", "/v1/Conversations?State=weird", "", 400},
		{"GET", "/v1/Conversations?StartDate=never", "", 400},
		{"POST", conv, "State=bogus", 400},
		{"POST", conv, "Timers.Closed=PT1S", 400},
		{"POST", conv + "/Messages", "Body=x&DateCreated=bad", 400},
		{"GET", conv + "/Messages/IMnope", "", 404},
		{"POST", conv + "/Messages/IMnope", "Body=x", 404},
		{"POST", conv + "/Participants", "Identity=a&RoleSid=bad", 400},
		{"POST", conv + "/Participants/MBnope", "Attributes={}", 404},
		{"POST", conv + "/Webhooks", "", 400},
		{"POST", conv + "/Webhooks", "Target=webhook&Configuration.Url=https://x.example/&Configuration.Method=PUT", 400},
		{"POST", conv + "/Webhooks", "Target=studio&Configuration.FlowSid=nope", 400},
		{"POST", conv + "/Webhooks", "Target=trigger&Configuration.Url=https://x.example/&Configuration.Triggers=", 400},
		{"POST", conv + "/Webhooks", "Target=webhook&Configuration.Url=https://x.example/" + strings.Repeat("a", 600), 400},
		{"DELETE", conv + "/Webhooks/WHnope", "", 404},
		{"GET", svc + "/Participants/nobody", "", 404},
		{"GET", "/v1/Services/ISnope/Conversations", "", 404},
		{"POST", "/v1/Services/ISnope/Configuration/Webhooks", "Method=POST", 404},
		{"POST", "/v1/Configuration/Webhooks", "PostWebhookUrl=relative/path", 400},
	} {
		req, err := http.NewRequest(tc.method, f.url+tc.path, strings.NewReader(tc.body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, tc.want, resp.StatusCode, "%s %s %s", tc.method, tc.path, tc.body)
	}

	// The conversation is untouched by the rejected updates.
	got, err := f.c.ConversationsV1.FetchConversation(*c.Sid)
	require.NoError(t, err)
	assert.Equal(t, "active", *got.State)
	assert.Equal(t, map[string]any{}, *got.Timers)
}
