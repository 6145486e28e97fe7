package conversations

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	twclient "github.com/twilio/twilio-go/client"
	v1 "github.com/twilio/twilio-go/rest/conversations/v1"

	"github.com/flexhooks/flexhooks/internal/emulator/core"
	"github.com/flexhooks/flexhooks/internal/emulator/emutest"
)

func settle(t *testing.T, f *fixture) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, f.env.Outbox.Settle(ctx))
}

func TestScopedWebhookCRUD(t *testing.T) {
	f := newFixture(t)
	cv := f.c.ConversationsV1
	c, err := cv.CreateConversation(nil)
	require.NoError(t, err)

	wh, err := cv.CreateConversationScopedWebhook(*c.Sid, (&v1.CreateConversationScopedWebhookParams{}).
		SetTarget("webhook").SetConfigurationUrl("https://example.com/hook").SetConfigurationMethod("get").
		SetConfigurationFilters([]string{"onMessageAdded", "onConversationStateUpdated"}))
	require.NoError(t, err)
	assert.True(t, core.ValidSID("WH", *wh.Sid))
	cfg := (*wh.Configuration).(map[string]any)
	assert.Equal(t, "https://example.com/hook", cfg["url"])
	assert.Equal(t, "get", cfg["method"])
	assert.Equal(t, []any{"onMessageAdded", "onConversationStateUpdated"}, cfg["filters"])

	up, err := cv.UpdateConversationScopedWebhook(*c.Sid, *wh.Sid, (&v1.UpdateConversationScopedWebhookParams{}).
		SetConfigurationFilters([]string{"onParticipantAdded"}))
	require.NoError(t, err)
	assert.Equal(t, []any{"onParticipantAdded"}, (*up.Configuration).(map[string]any)["filters"])

	got, err := cv.FetchConversationScopedWebhook(*c.Sid, *wh.Sid)
	require.NoError(t, err)
	assert.Equal(t, "webhook", *got.Target)

	studio, err := cv.CreateConversationScopedWebhook(*c.Sid, (&v1.CreateConversationScopedWebhookParams{}).
		SetTarget("studio").SetConfigurationFlowSid(core.SeedSID("FW", "flow")))
	require.NoError(t, err)
	trig, err := cv.CreateConversationScopedWebhook(*c.Sid, (&v1.CreateConversationScopedWebhookParams{}).
		SetTarget("trigger").SetConfigurationUrl("https://example.com/t").SetConfigurationTriggers([]string{"help"}))
	require.NoError(t, err)
	_ = studio
	_ = trig

	// Bad input.
	_, err = cv.CreateConversationScopedWebhook(*c.Sid, (&v1.CreateConversationScopedWebhookParams{}).SetTarget("carrier-pigeon"))
	restErr(t, err, 400, codeInvalidWebhookType)
	_, err = cv.CreateConversationScopedWebhook(*c.Sid, (&v1.CreateConversationScopedWebhookParams{}).SetTarget("webhook"))
	restErr(t, err, 400, 20001)
	_, err = cv.CreateConversationScopedWebhook(*c.Sid, (&v1.CreateConversationScopedWebhookParams{}).
		SetTarget("webhook").SetConfigurationUrl("not a url"))
	restErr(t, err, 400, 20001)
	_, err = cv.CreateConversationScopedWebhook(*c.Sid, (&v1.CreateConversationScopedWebhookParams{}).
		SetTarget("webhook").SetConfigurationUrl("https://example.com").SetConfigurationFilters([]string{"onEverything"}))
	restErr(t, err, 400, 20001)
	_, err = cv.CreateConversationScopedWebhook(*c.Sid, (&v1.CreateConversationScopedWebhookParams{}).
		SetTarget("trigger").SetConfigurationUrl("https://example.com"))
	restErr(t, err, 400, codeTriggerMissing)
	_, err = cv.CreateConversationScopedWebhook(*c.Sid, (&v1.CreateConversationScopedWebhookParams{}).
		SetTarget("trigger").SetConfigurationUrl("https://example.com").SetConfigurationTriggers([]string{"a", "b", "c", "d", "e", "f"}))
	restErr(t, err, 400, codeTooManyTriggers)

	list, err := cv.ListConversationScopedWebhook(*c.Sid, nil)
	require.NoError(t, err)
	assert.Len(t, list, 3)

	require.NoError(t, cv.DeleteConversationScopedWebhook(*c.Sid, *wh.Sid))
	restErr(t, cv.DeleteConversationScopedWebhook(*c.Sid, *wh.Sid), 404, 20404)
	_, err = cv.FetchConversationScopedWebhook(*c.Sid, *wh.Sid)
	restErr(t, err, 404, 20404)
}

func TestSixthScopedWebhookFails(t *testing.T) {
	f := newFixture(t)
	cv := f.c.ConversationsV1
	c, err := cv.CreateConversation(nil)
	require.NoError(t, err)
	params := (&v1.CreateConversationScopedWebhookParams{}).SetTarget("webhook").SetConfigurationUrl("https://example.com/hook")
	for range 5 {
		_, err := cv.CreateConversationScopedWebhook(*c.Sid, params)
		require.NoError(t, err)
	}
	_, err = cv.CreateConversationScopedWebhook(*c.Sid, params)
	restErr(t, err, 400, codeTooManyWebhooks)
}

// TestConcurrentWebhookDeletes is the atomic claim flexhooks builds on: of
// many concurrent deletes of one webhook, exactly one wins.
func TestConcurrentWebhookDeletes(t *testing.T) {
	f := newFixture(t)
	cv := f.c.ConversationsV1
	c, err := cv.CreateConversation(nil)
	require.NoError(t, err)
	wh, err := cv.CreateConversationScopedWebhook(*c.Sid, (&v1.CreateConversationScopedWebhookParams{}).
		SetTarget("webhook").SetConfigurationUrl("https://example.com/hook"))
	require.NoError(t, err)

	var ok, notFound, other atomic.Int32
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			// Each goroutine gets its own client, as separate replicas would.
			err := emutest.Client(t, f.url).ConversationsV1.DeleteConversationScopedWebhook(*c.Sid, *wh.Sid)
			var te *twclient.TwilioRestError
			switch {
			case err == nil:
				ok.Add(1)
			case errors.As(err, &te) && te.Status == 404 && te.Code == 20404:
				notFound.Add(1)
			default:
				other.Add(1)
			}
		})
	}
	wg.Wait()
	assert.EqualValues(t, 1, ok.Load())
	assert.EqualValues(t, 99, notFound.Load())
	assert.EqualValues(t, 0, other.Load())
}

func TestWebhookDelivery(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t)
	cv := f.c.ConversationsV1
	svc := f.store.DefaultServiceSID()

	_, err := cv.UpdateServiceWebhookConfiguration(svc, (&v1.UpdateServiceWebhookConfigurationParams{}).
		SetPostWebhookUrl(rc.srv.URL+"/service").SetMethod("POST").
		SetFilters([]string{"onMessageAdded", "onConversationStateUpdated"}))
	require.NoError(t, err)

	c, err := cv.CreateConversation((&v1.CreateConversationParams{}).SetTimersInactive("PT1M"))
	require.NoError(t, err)
	wh, err := cv.CreateConversationScopedWebhook(*c.Sid, (&v1.CreateConversationScopedWebhookParams{}).
		SetTarget("webhook").SetConfigurationUrl(rc.srv.URL+"/scoped?x=1").
		SetConfigurationFilters([]string{"onMessageAdded"}))
	require.NoError(t, err)

	// A REST message without X-Twilio-Webhook-Enabled fires nothing.
	_, err = cv.CreateConversationMessage(*c.Sid, (&v1.CreateConversationMessageParams{}).SetBody("quiet"))
	require.NoError(t, err)
	settle(t, f)
	assert.Empty(t, rc.byType("onMessageAdded"))

	// With the header it fires, to the service hook and the scoped one.
	m, err := cv.CreateConversationMessage(*c.Sid, (&v1.CreateConversationMessageParams{}).
		SetBody("loud").SetAuthor("agent").SetXTwilioWebhookEnabled("true"))
	require.NoError(t, err)
	settle(t, f)
	added := rc.byType("onMessageAdded")
	require.Len(t, added, 2)
	var scoped, service map[string][]string
	for _, e := range added {
		if e.Get("_path") == "/scoped" {
			scoped = e
		} else {
			service = e
		}
	}
	require.NotNil(t, scoped)
	require.NotNil(t, service)
	for _, e := range added {
		assert.Equal(t, emutest.AccountSID, e.Get("AccountSid"))
		assert.Equal(t, svc, e.Get("ChatServiceSid"))
		assert.Equal(t, *c.Sid, e.Get("ConversationSid"))
		assert.Equal(t, *m.Sid, e.Get("MessageSid"))
		assert.Equal(t, "1", e.Get("Index"))
		assert.Equal(t, "agent", e.Get("Author"))
		assert.Equal(t, "loud", e.Get("Body"))
		assert.Equal(t, "{}", e.Get("Attributes"))
		assert.Equal(t, "API", e.Get("Source"))
		assert.Equal(t, "0", e.Get("RetryCount"))
		assert.NotEmpty(t, e.Get("DateCreated"))
	}
	assert.Equal(t, *wh.Sid, scoped["WebhookSid"][0])
	assert.Equal(t, "webhook", scoped["WebhookType"][0])
	assert.Empty(t, service["WebhookSid"])

	// An inbound SMS through the cross-product API fires without any header.
	f.locked(func() {
		_, err := f.store.AddParticipant(*c.Sid, ParticipantParams{Address: "+15550001111", ProxyAddress: "+15559990000"})
		require.Nil(t, err)
		_, err = f.store.AddMessage(*c.Sid, MessageParams{Author: "+15550001111", Body: "from phone", Source: "SMS"})
		require.Nil(t, err)
	})
	settle(t, f)
	added = rc.byType("onMessageAdded")
	require.Len(t, added, 4)
	assert.Equal(t, "SMS", added[3].Get("Source"))
	assert.NotEmpty(t, added[3].Get("ParticipantSid"))

	// The inactive timer fires onConversationStateUpdated (service hook only:
	// the scoped one does not filter on it), always, Reason TIMER.
	f.advance(time.Minute)
	settle(t, f)
	states := rc.byType("onConversationStateUpdated")
	require.Len(t, states, 1)
	st := states[0]
	assert.Equal(t, "active", st.Get("StateFrom"))
	assert.Equal(t, "inactive", st.Get("StateTo"))
	assert.Equal(t, "TIMER", st.Get("Reason"))
	assert.Equal(t, *c.Sid, st.Get("ConversationSid"))
	assert.Equal(t, svc, st.Get("ChatServiceSid"))
	assert.NotEmpty(t, st.Get("DateCreated"))
	assert.NotEmpty(t, st.Get("DateUpdated"))

	// Close from Flex: Reason API.
	f.locked(func() { require.Nil(t, f.store.Close(*c.Sid)) })
	settle(t, f)
	states = rc.byType("onConversationStateUpdated")
	require.Len(t, states, 2)
	assert.Equal(t, "inactive", states[1].Get("StateFrom"))
	assert.Equal(t, "closed", states[1].Get("StateTo"))
	assert.Equal(t, "API", states[1].Get("Reason"))
}

func TestAccountWebhookConfiguration(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t)
	cv := f.c.ConversationsV1

	got, err := cv.FetchConfigurationWebhook()
	require.NoError(t, err)
	assert.Equal(t, "POST", *got.Method)
	assert.Equal(t, "webhook", *got.Target)

	up, err := cv.UpdateConfigurationWebhook((&v1.UpdateConfigurationWebhookParams{}).
		SetPostWebhookUrl(rc.srv.URL + "/global").SetPreWebhookUrl(rc.srv.URL + "/pre").SetMethod("GET").
		SetFilters([]string{"onParticipantAdded", "onConversationAdded", "onMessageAdd"}).SetTarget("webhook"))
	require.NoError(t, err)
	assert.Equal(t, "GET", *up.Method)
	assert.Equal(t, rc.srv.URL+"/global", *up.PostWebhookUrl)
	assert.Equal(t, []string{"onParticipantAdded", "onConversationAdded", "onMessageAdd"}, *up.Filters)

	_, err = cv.UpdateConfigurationWebhook((&v1.UpdateConfigurationWebhookParams{}).SetMethod("PUT"))
	restErr(t, err, 400, 20001)
	_, err = cv.UpdateConfigurationWebhook((&v1.UpdateConfigurationWebhookParams{}).SetFilters([]string{"onNothing"}))
	restErr(t, err, 400, 20001)
	_, err = cv.UpdateConfigurationWebhook((&v1.UpdateConfigurationWebhookParams{}).SetTarget("pigeon"))
	restErr(t, err, 400, 20001)

	// With no service-level hook, the account-level one receives the events.
	c, err := cv.CreateConversation((&v1.CreateConversationParams{}).SetXTwilioWebhookEnabled("true"))
	require.NoError(t, err)
	_, err = cv.CreateConversationParticipant(*c.Sid, (&v1.CreateConversationParticipantParams{}).
		SetIdentity("alice").SetXTwilioWebhookEnabled("true"))
	require.NoError(t, err)
	settle(t, f)
	require.Len(t, rc.byType("onConversationAdded"), 1)
	pa := rc.byType("onParticipantAdded")
	require.Len(t, pa, 1)
	assert.Equal(t, "alice", pa[0].Get("Identity"))
	assert.Equal(t, "/global", pa[0].Get("_path"))

	svcCfg, err := cv.FetchServiceWebhookConfiguration(f.store.DefaultServiceSID())
	require.NoError(t, err)
	assert.Equal(t, "POST", *svcCfg.Method)
	_, err = cv.FetchServiceWebhookConfiguration(core.SeedSID("IS", "other"))
	restErr(t, err, 404, 20404)
	_, err = cv.UpdateServiceWebhookConfiguration(f.store.DefaultServiceSID(), (&v1.UpdateServiceWebhookConfigurationParams{}).
		SetPostWebhookUrl("ftp://nope"))
	restErr(t, err, 400, 20001)
}

func TestTriggerWebhook(t *testing.T) {
	f := newFixture(t)
	rc := newReceiver(t)
	cv := f.c.ConversationsV1
	c, err := cv.CreateConversation(nil)
	require.NoError(t, err)
	_, err = cv.CreateConversationScopedWebhook(*c.Sid, (&v1.CreateConversationScopedWebhookParams{}).
		SetTarget("trigger").SetConfigurationUrl(rc.srv.URL+"/t").SetConfigurationTriggers([]string{"Agent"}))
	require.NoError(t, err)
	f.locked(func() {
		_, err := f.store.AddMessage(*c.Sid, MessageParams{Author: "+1555", Body: "hello", Source: "SMS"})
		require.Nil(t, err)
		_, err = f.store.AddMessage(*c.Sid, MessageParams{Author: "+1555", Body: "I want an agent please", Source: "SMS"})
		require.Nil(t, err)
	})
	settle(t, f)
	got := rc.byType("onMessageAdded")
	require.Len(t, got, 1)
	assert.Equal(t, "I want an agent please", got[0].Get("Body"))
	assert.Equal(t, "trigger", got[0].Get("WebhookType"))
}
