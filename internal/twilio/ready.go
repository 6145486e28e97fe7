package twilio

import (
	"context"

	"github.com/flexhooks/flexhooks"
)

// Ready proves that Twilio is reachable and accepts the credentials with
// one cheap authenticated read: the Flex workspace when configured (which
// also proves the SID is right), else the account's Conversations
// configuration. It answers the server's readiness probe; errors are
// *flexhooks.Error as from MapError.
func (c *Client) Ready(ctx context.Context) error {
	api := c.API(ctx)
	var err error
	if c.workspace != "" {
		_, err = api.TaskRouter.FetchWorkspace(c.workspace)
	} else {
		_, err = api.Conversations.FetchConfiguration()
	}
	if err == nil {
		return nil
	}
	mapped := MapError(err)
	if fe, ok := mapped.(*flexhooks.Error); ok {
		fe.Message = "Twilio not ready: " + fe.Message
	}
	return mapped
}
