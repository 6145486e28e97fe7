package twilio

import (
	"context"
	"net/url"
	"strconv"

	conversations "github.com/twilio/twilio-go/rest/conversations/v1"
	syncv1 "github.com/twilio/twilio-go/rest/sync/v1"
	taskrouter "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhooks/flexhooks"
	"github.com/flexhooks/flexhooks/webhooks"
)

// MessagePageSize is the page size of conversation message lists: the
// largest the Conversations API takes (its spec caps PageSize at 100), so
// that reading a long conversation costs as few calls as it can.
const MessagePageSize = 100

var _ webhooks.PersistentChatTwilio = (*Operations)(nil)

// ListConversationMessages returns one page of a conversation's messages,
// oldest first, from cursor ("" for the first page). The cursor is Twilio's
// own paging (Page and PageToken of the page's next_page_url), opaque to
// the caller and valid for the same page size, which is why the size is
// fixed. ENOTFOUND when Twilio no longer has the conversation.
func (o *Operations) ListConversationMessages(ctx context.Context, conversationSid, cursor string) (webhooks.MessagePage, error) {
	var token, page string
	if cursor != "" {
		q, err := url.ParseQuery(cursor)
		if err != nil {
			return webhooks.MessagePage{}, &flexhooks.Error{Code: flexhooks.EINVALID, Message: "not a message page cursor", Err: err}
		}
		token, page = q.Get("PageToken"), q.Get("Page")
	}
	p := (&conversations.ListConversationMessageParams{}).SetOrder("asc").SetPageSize(MessagePageSize)
	res, err := o.c.API(ctx).Conversations.PageConversationMessage(conversationSid, p, token, page)
	if err != nil {
		return webhooks.MessagePage{}, MapError(err)
	}
	out := webhooks.MessagePage{Messages: make([]webhooks.ConversationMessage, 0, len(res.Messages))}
	for _, m := range res.Messages {
		msg := webhooks.ConversationMessage{
			Sid: ptrValue(m.Sid), Index: m.Index, Author: ptrValue(m.Author), Body: ptrValue(m.Body),
			ParticipantSid: ptrValue(m.ParticipantSid), DateCreated: ptrValue(m.DateCreated).UTC(),
		}
		if m.Media != nil {
			msg.Media = len(*m.Media)
		}
		out.Messages = append(out.Messages, msg)
	}
	if next := ptrValue(res.Meta.NextPageUrl); next != "" && len(res.Messages) > 0 {
		out.Next = nextCursor(next)
	}
	return out, nil
}

// nextCursor keeps what of a next_page_url names the page: Page and
// PageToken. A URL without a PageToken (Twilio always sets one) pages by
// number alone.
func nextCursor(nextPageURL string) string {
	u, err := url.Parse(nextPageURL)
	if err != nil {
		return ""
	}
	q := u.Query()
	v := url.Values{}
	if t := q.Get("PageToken"); t != "" {
		v.Set("PageToken", t)
	}
	if p := q.Get("Page"); p != "" {
		if _, err := strconv.Atoi(p); err == nil {
			v.Set("Page", p)
		}
	}
	return v.Encode()
}

// FetchTaskVersion returns a task's attributes (JSON text) and its version,
// the ETag TaskRouter answers with: what a conditional update needs.
func (o *Operations) FetchTaskVersion(ctx context.Context, workspaceSid, taskSid string) (attributes, version string, err error) {
	res, err := o.c.API(ctx).TaskRouter.FetchTaskWithMetadata(workspaceSid, taskSid)
	if err != nil {
		return "", "", MapError(err)
	}
	return ptrValue(res.Resource.Attributes), res.GetHeader("ETag"), nil
}

// UpdateTaskAttributes replaces a task's attributes if its version is still
// version (If-Match): ECONFLICT (412, 20412) when it changed meanwhile. An
// empty version updates unconditionally.
func (o *Operations) UpdateTaskAttributes(ctx context.Context, workspaceSid, taskSid, attributes, version string) error {
	p := (&taskrouter.UpdateTaskParams{}).SetAttributes(attributes)
	if version != "" {
		p.SetIfMatch(version)
	}
	_, err := o.c.API(ctx).TaskRouter.UpdateTask(workspaceSid, taskSid, p)
	return MapError(err)
}

// OverwriteSyncMapItem replaces an item's data whatever its revision; the
// item keeps its TTL. ENOTFOUND when it does not exist.
func (o *Operations) OverwriteSyncMapItem(ctx context.Context, mapName, key string, data any) error {
	_, err := o.c.API(ctx).Sync.UpdateSyncMapItem(o.syncService, mapName, key, (&syncv1.UpdateSyncMapItemParams{}).SetData(data))
	return MapError(err)
}
