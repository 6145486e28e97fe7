package twilio

import "github.com/flexhooks/flexhooks/webhooks"

// Operations implements the Twilio operations the webhooks package declares
// (webhooks.ParkTwilio …) over the client: one method per operation, each
// building its twilio-go services from the call's context (API) and mapping
// errors with MapError. conversations.go, interactions.go and syncmaps.go
// hold the methods, by Twilio product.
type Operations struct {
	c *Client
	// syncService is the Sync service (IS… or "default") maps live in.
	syncService string
}

// Operations returns the feature operations over c, keeping Sync maps in
// syncServiceSID ("default" when empty: the account's default service, which
// the Flex UI reads).
func (c *Client) Operations(syncServiceSID string) *Operations {
	if syncServiceSID == "" {
		syncServiceSID = "default"
	}
	return &Operations{c: c, syncService: syncServiceSID}
}

var (
	_ webhooks.ParkTwilio        = (*Operations)(nil)
	_ webhooks.InteractionTwilio = (*Operations)(nil)
)
