package twilio

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	syncv1 "github.com/twilio/twilio-go/rest/sync/v1"

	"github.com/flexhooks/flexhooks"
)

const (
	sidCH = "CH0123456789abcdef0123456789abcdef"
	sidKD = "KD0123456789abcdef0123456789abcdef"
	sidUO = "UO0123456789abcdef0123456789abcdef"
	sidUT = "UT0123456789abcdef0123456789abcdef"
	sidWS = "WS0123456789abcdef0123456789abcdef"
	sidWT = "WT0123456789abcdef0123456789abcdef"
	sidWK = "WK0123456789abcdef0123456789abcdef"
	sidMB = "MB0123456789abcdef0123456789abcdef"
	sidPF = "PF0123456789abcdef0123456789abcdef"
)

func TestPathGate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		method string
		url    string // as twilio-go builds it: base + template with the raw parameter
		want   string // "" = allowed, else a part of the refusal
	}{
		// What flexhooks sends.
		{"conversation", "GET", "https://conversations.twilio.com/v1/Conversations/" + sidCH, ""},
		{"conversation webhooks", "POST", "https://conversations.twilio.com/v1/Conversations/" + sidCH + "/Webhooks", ""},
		{"service webhook configuration", "POST", "https://conversations.twilio.com/v1/Services/IS0123456789abcdef0123456789abcdef/Configuration/Webhooks", ""},
		{"account configuration", "GET", "https://conversations.twilio.com/v1/Configuration", ""},
		{"interaction participant", "POST", "https://flex-api.twilio.com/v1/Interactions/" + sidKD + "/Channels/" + sidUO + "/Participants/" + sidUT, ""},
		{"invites", "POST", "https://flex-api.twilio.com/v1/Interactions/" + sidKD + "/Channels/" + sidUO + "/Invites", ""},
		{"task", "POST", "https://taskrouter.twilio.com/v1/Workspaces/" + sidWS + "/Tasks/" + sidWT, ""},
		{"worker statistics", "GET", "https://taskrouter.twilio.com/v1/Workspaces/" + sidWS + "/Workers/Statistics", ""},
		{"task channel by name", "GET", "https://taskrouter.twilio.com/v1/Workspaces/" + sidWS + "/TaskChannels/chat", ""},
		{"parked list", "GET", "https://sync.twilio.com/v1/Services/default/Maps/ParkedInteractions_" + sidWK + "/Items", ""},
		{"item keyed by conversation", "DELETE", "https://sync.twilio.com/v1/Services/default/Maps/flexhooks_parks/Items/" + sidCH, ""},
		{"item keyed by profile", "GET", "https://sync.twilio.com/v1/Services/default/Maps/flexhooks_profiles/Items/" + sidPF, ""},
		{"profile index key", "POST", "https://sync.twilio.com/v1/Services/default/Maps/flexhooks_profile_interactions/Items/" + sidPF + "_8203456789012_" + sidCH, ""},
		{"claim key with a time", "POST", "https://sync.twilio.com/v1/Services/default/Maps/flexhooks_inactivity_claims/Items/" + sidCH + "_20261204T091500.000Z", ""},
		{"digest key", "GET", "https://sync.twilio.com/v1/Services/default/Maps/flexhooks_persistent_chat_tokens/Items/" + strings.Repeat("ab", 32), ""},
		{"counter key", "GET", "https://sync.twilio.com/v1/Services/default/Maps/flexhooks_counters/Items/interactionNumber", ""},
		{"token validation", "POST", "https://iam.twilio.com/v1/Accounts/AC0123456789abcdef0123456789abcdef/Tokens/validate", ""},
		{"list query on a GET", "GET", "https://conversations.twilio.com/v1/Conversations/" + sidCH + "/Messages?Order=desc&PageSize=50", ""},

		// What a crafted identifier makes of them.
		{"traversal", "GET", "https://flex-api.twilio.com/v1/Interactions/../../../v1/Interactions/" + sidKD, "path traversal"},
		{"traversal in a map name", "GET", "https://sync.twilio.com/v1/Services/default/Maps/ParkedInteractions_../../x/Items", "path traversal"},
		{"single dot", "GET", "https://conversations.twilio.com/v1/Conversations/./" + sidCH, "path traversal"},
		{"empty SID", "GET", "https://conversations.twilio.com/v1/Conversations//Participants", "empty path segment"},
		{"trailing slash", "GET", "https://conversations.twilio.com/v1/Conversations/" + sidCH + "/", "empty path segment"},
		{"escaped slash", "GET", "https://conversations.twilio.com/v1/Conversations/" + sidCH + "%2F..%2FWebhooks", "path traversal"},
		{"escaped dots", "GET", "https://conversations.twilio.com/v1/Conversations/%2E%2E/x", "path traversal"},
		{"escaped letter", "GET", "https://conversations.twilio.com/v1/Conversations/%43H0123456789abcdef0123456789abcdef", "percent-escape"},
		{"space", "GET", "https://conversations.twilio.com/v1/Conversations/CH0123 456789abcdef0123456789abcdef", "character ' '"},
		{"query smuggled into a form POST", "POST", "https://conversations.twilio.com/v1/Conversations/" + sidCH + "?Attributes=x", "\"?\""},
		{"fragment", "GET", "https://conversations.twilio.com/v1/Conversations/" + sidCH + "#x", "\"#\""},
		{"wrong prefix", "DELETE", "https://conversations.twilio.com/v1/Conversations/" + sidWT, "Conversations takes a CH SID, not a WT SID"},
		{"a name where only a SID goes", "GET", "https://conversations.twilio.com/v1/Conversations/my-conversation", "Conversations takes a CH SID"},
		{"short SID", "POST", "https://taskrouter.twilio.com/v1/Workspaces/" + sidWS + "/Tasks/WT0123", "Tasks takes a WT SID"},
		{"long SID as an item key", "GET", "https://sync.twilio.com/v1/Services/default/Maps/m/Items/" + sidCH + "00", "SID-shaped Items key"},
		{"SID-shaped segment elsewhere", "GET", "https://conversations.twilio.com/v1/Conversations/" + sidCH + "/Foo/CH0123456789abcdef", "two capital letters and 32 hex"},
		{"huge segment", "GET", "https://sync.twilio.com/v1/Services/default/Maps/m/Items/" + strings.Repeat("k", 100000), "at most 320"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(tt.method, tt.url, nil)
			require.NoError(t, err)
			if tt.method == http.MethodPost {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			err = checkTwilioURL(req)
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			var fe *flexhooks.Error
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, flexhooks.EINVALID, fe.Code)
			assert.Contains(t, fe.Message, tt.want)
			assert.Less(t, len(fe.Error()), 400, "a refusal never repeats a huge value")
		})
	}
}

// Through the real stack: a refused call is never sent, and its error is
// the gate's, not the URL http.Client wraps it in.
func TestPathGateNeverSends(t *testing.T) {
	srv, hits := serve(t, func(_ int32, w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, `{}`) })
	c, _ := newTestClient(t, srv, nil)
	api := c.API(context.Background())
	huge := "../" + strings.Repeat("x", 1<<20)
	calls := map[string]func() error{
		"conversation": func() error { _, err := api.Conversations.FetchConversation("../../../v1/Conversations"); return err },
		"sync item": func() error {
			return api.Sync.DeleteSyncMapItem("default", "flexhooks_parks", sidCH+"/../../Maps/other/Items/"+sidCH, nil)
		},
		"huge": func() error {
			_, err := api.Sync.UpdateSyncMapItem("default", "m", huge, &syncv1.UpdateSyncMapItemParams{})
			return err
		},
	}
	for name, call := range calls {
		err := MapError(call())
		var fe *flexhooks.Error
		require.ErrorAs(t, err, &fe, name)
		assert.Equal(t, flexhooks.EINVALID, fe.Code, name)
		assert.Less(t, len(err.Error()), 400, name)
	}
	assert.Zero(t, hits.n.Load(), "nothing reached Twilio")
}
