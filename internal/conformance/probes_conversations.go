package conformance

import (
	"context"
	"fmt"
	"strings"

	conversations "github.com/twilio/twilio-go/rest/conversations/v1"
)

// The Conversations probes work on conversations of the run's own, with no
// participants, in the account's default Conversation Service.

var probeConversationsServices = Probe{
	Name: "conversations-services",
	Behaviour: "Conversations: GET /v1/Services lists the account's Conversation Services and GET /v1/Services/{Sid} fetches one " +
		"(twilio_conversations_v1.json; twilio-go ListService, FetchService)",
	Expected: "success: at least one IS… service, fetched by its SID",
	Run: func(ctx context.Context, c *Client) (string, bool, error) {
		api := c.API(ctx).Conversations
		list, err := api.PageService((&conversations.ListServiceParams{}).SetPageSize(50), "", "")
		if err != nil {
			observed, err := answer(err)
			return "list: " + observed, false, err
		}
		if len(list.Services) == 0 || list.Services[0].Sid == nil || !strings.HasPrefix(*list.Services[0].Sid, "IS") {
			return fmt.Sprintf("list: success, %d service(s), the first without an IS… SID", len(list.Services)), false, nil
		}
		sid := *list.Services[0].Sid
		one, err := api.FetchService(sid)
		if err != nil {
			observed, err := answer(err)
			return fmt.Sprintf("list: success, %d service(s); fetch: %s", len(list.Services), observed), false, err
		}
		same := one.Sid != nil && *one.Sid == sid
		return fmt.Sprintf("list: success, %d service(s) (page_size %d); fetch: success, same SID %t",
			len(list.Services), list.Meta.PageSize, same), same, nil
	},
}

var probePageSizeTooLarge = Probe{
	Name:      "page-size-over-1000",
	Behaviour: "any list: a PageSize above 1000 is refused (https://www.twilio.com/docs/api/errors/20007); probed on a conversation's messages",
	Expected:  "HTTP 400, error 20007",
	Run: func(ctx context.Context, c *Client) (string, bool, error) {
		conv, err := c.Conversation(ctx, "page-size")
		if err != nil {
			return "", false, err
		}
		_, err = c.API(ctx).Conversations.PageConversationMessage(conv,
			(&conversations.ListConversationMessageParams{}).SetPageSize(1001), "", "")
		return refusedWith(err, 400, 20007)
	},
}

var probeScopedWebhookPage = Probe{
	Name: "scoped-webhooks-page-size",
	Behaviour: "a conversation's scoped webhooks list: PageSize maximum 5 (twilio_conversations_v1.json); " +
		"what Twilio answers to more is undocumented: the emulator serves 5 a page (twilio-go asks 50 by default)",
	Expected: "success, meta.page_size 5",
	Run: func(ctx context.Context, c *Client) (string, bool, error) {
		conv, err := c.Conversation(ctx, "webhook-page")
		if err != nil {
			return "", false, err
		}
		page, err := c.API(ctx).Conversations.PageConversationScopedWebhook(conv,
			(&conversations.ListConversationScopedWebhookParams{}).SetPageSize(50), "", "")
		if err != nil {
			observed, err := answer(err)
			return observed, false, err
		}
		return fmt.Sprintf("success, meta.page_size %d", page.Meta.PageSize), page.Meta.PageSize == 5, nil
	},
}

var probeScopedWebhookLimit = Probe{
	Name:      "scoped-webhooks-limit",
	Behaviour: "at most 5 scoped webhooks per conversation: the 6th create is refused (https://www.twilio.com/docs/api/errors/50361)",
	Expected:  "5 created; the 6th: error 50361",
	Run: func(ctx context.Context, c *Client) (string, bool, error) {
		conv, err := c.Conversation(ctx, "webhook-limit")
		if err != nil {
			return "", false, err
		}
		// No message is ever added to the conversation: the URL, on
		// the domain reserved for examples, is never called.
		params := (&conversations.CreateConversationScopedWebhookParams{}).SetTarget("webhook").
			SetConfigurationUrl("https://example.com/" + c.Name("webhook")).SetConfigurationMethod("POST").
			SetConfigurationFilters([]string{"onMessageAdded"})
		for n := 1; n <= 6; n++ {
			_, err := c.API(ctx).Conversations.CreateConversationScopedWebhook(conv, params)
			if err == nil {
				continue
			}
			observed, agree, err := refusedWith(err, 0, 50361)
			return fmt.Sprintf("%d created; the %s: %s", n-1, ordinal(n), observed), agree && n == 6, err
		}
		return "6 created", false, nil // removed with the conversation
	},
}

var probeClosedConversation = Probe{
	Name: "closed-conversation-update",
	Behaviour: "a closed conversation cannot change: an update is refused (https://www.twilio.com/docs/api/errors/50377); " +
		"flexhooks takes it as a conflict",
	Expected: "error 50377",
	Run: func(ctx context.Context, c *Client) (string, bool, error) {
		conv, err := c.Conversation(ctx, "closed")
		if err != nil {
			return "", false, err
		}
		api := c.API(ctx).Conversations
		if _, err := api.UpdateConversation(conv, (&conversations.UpdateConversationParams{}).SetState("closed")); err != nil {
			observed, err := answer(err)
			return "closing it: " + observed, false, err
		}
		_, err = api.UpdateConversation(conv, (&conversations.UpdateConversationParams{}).SetFriendlyName(c.Name("closed-renamed")))
		return refusedWith(err, 0, 50377)
	},
}

func ordinal(n int) string {
	switch n {
	case 1:
		return "1st"
	case 2:
		return "2nd"
	case 3:
		return "3rd"
	}
	return fmt.Sprintf("%dth", n)
}
