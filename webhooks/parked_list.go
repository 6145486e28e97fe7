package webhooks

import (
	"context"
	"sort"
	"strconv"
	"time"

	"github.com/flexhooks/flexhooks"
)

// ParkedListRequest is GET /parked-interactions.
type ParkedListRequest struct {
	// WorkerSid whose list to read; defaults to the token's worker. Only a
	// supervisor may read another worker's list.
	WorkerSid string `json:"workerSid" form:"workerSid" query:"workerSid"`
	// PageSize (default 50, at most 200) and Page (from 0).
	PageSize string `json:"pageSize" form:"pageSize" query:"pageSize"`
	Page     string `json:"page" form:"page" query:"page"`
}

// ParkedInteraction is one entry of the parked list.
type ParkedInteraction struct {
	ConversationSid       string    `json:"conversationSid"`
	InteractionSid        string    `json:"interactionSid"`
	ChannelSid            string    `json:"flexInteractionChannelSid"`
	ChannelType           string    `json:"channelType"`
	WebhookSid            string    `json:"webhookSid,omitempty"`
	WorkflowSid           string    `json:"workflowSid,omitempty"`
	TaskChannelUniqueName string    `json:"taskChannelUniqueName,omitempty"`
	QueueName             string    `json:"queueName,omitempty"`
	CustomerName          string    `json:"customerName,omitempty"`
	CustomerAddress       string    `json:"customerAddress,omitempty"`
	ParkedAt              time.Time `json:"parkedAt"`
	// UnparkAt is when a snoozed park is routed back unless the customer
	// writes first; absent when the park has no schedule.
	UnparkAt *time.Time `json:"unparkAt,omitempty"`
	// ExpiresAt is when the list item expires (WhatsApp and Messenger: the
	// end of the 24-hour reply window); absent when it never does.
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
}

// ParkedListResponse is a page of the parked list, newest first.
type ParkedListResponse struct {
	WorkerSid          string              `json:"workerSid"`
	ParkedInteractions []ParkedInteraction `json:"parkedInteractions"`
	Page               int                 `json:"page"`
	PageSize           int                 `json:"pageSize"`
	Total              int                 `json:"total"`
	HasMore            bool                `json:"hasMore"`
}

// maxListed bounds how many items one list request reads from Sync: the
// list is sorted here (Sync orders by key only), so it is read whole.
const maxListed = 1000

func (r *ParkedListRequest) validate(caller flexhooks.Caller) (size, page int, err error) {
	f := fieldErrors{}
	if r.WorkerSid == "" {
		r.WorkerSid = caller.WorkerSid
	}
	f.sid("workerSid", r.WorkerSid, "WK")
	size, page = 50, 0
	if r.PageSize != "" {
		n, err := strconv.Atoi(r.PageSize)
		if err != nil || n < 1 || n > 200 {
			f["pageSize"] = "must be a whole number from 1 to 200"
		}
		size = n
	}
	if r.Page != "" {
		n, err := strconv.Atoi(r.Page)
		if err != nil || n < 0 {
			f["page"] = "must be a whole number from 0"
		}
		page = n
	}
	return size, page, f.err()
}

// ParkedList lists a worker's parked conversations, newest first, from the
// parked-list Sync map (one Twilio round trip).
func (p *Parks) ParkedList(ctx context.Context, req ParkedListRequest) (*ParkedListResponse, error) {
	caller, ok := flexhooks.CallerFrom(ctx)
	if !ok {
		return nil, flexhooks.Errorf(flexhooks.EUNAUTHORIZED, "a Flex token is required")
	}
	size, page, err := req.validate(caller)
	if err != nil {
		return nil, err
	}
	logSids(ctx, "workerSid", req.WorkerSid)
	if !caller.MayActFor(req.WorkerSid) {
		return nil, flexhooks.Errorf(flexhooks.EFORBIDDEN, "only a supervisor may list another worker's parked conversations")
	}
	items, err := p.tw.ListSyncMapItems(ctx, ParkedListMap(req.WorkerSid), maxListed)
	if err != nil {
		return nil, err
	}
	all := make([]ParkedInteraction, 0, len(items))
	for _, it := range items {
		all = append(all, parkedFromItem(it))
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].ParkedAt.After(all[j].ParkedAt) })
	resp := &ParkedListResponse{WorkerSid: req.WorkerSid, Page: page, PageSize: size, Total: len(all), ParkedInteractions: []ParkedInteraction{}}
	if start := page * size; start < len(all) {
		end := min(start+size, len(all))
		resp.ParkedInteractions = all[start:end]
		resp.HasMore = end < len(all)
	}
	return resp, nil
}

// parkedFromItem reads a list item, written by flexhooks or by
// flex-project-template's function (which lacks parkedAt: the item's
// creation date stands in).
func parkedFromItem(it SyncItem) ParkedInteraction {
	var d struct {
		InteractionSid        string `json:"interactionSid"`
		ChannelSid            string `json:"flexInteractionChannelSid"`
		ChannelType           string `json:"channelType"`
		WorkflowSid           string `json:"workflowSid"`
		TaskChannelUniqueName string `json:"taskChannelUniqueName"`
		TaskAttributes        any    `json:"taskAttributes"`
		WebhookSid            string `json:"webhookSid"`
		QueueName             string `json:"queueName"`
		ParkedAt              string `json:"parkedAt"`
		UnparkAt              string `json:"unparkAt"`
	}
	_ = decodeJSON(it.Data, &d)
	out := ParkedInteraction{
		ConversationSid:       it.Key,
		InteractionSid:        d.InteractionSid,
		ChannelSid:            d.ChannelSid,
		ChannelType:           d.ChannelType,
		WebhookSid:            d.WebhookSid,
		WorkflowSid:           d.WorkflowSid,
		TaskChannelUniqueName: d.TaskChannelUniqueName,
		QueueName:             d.QueueName,
		ParkedAt:              it.DateCreated,
	}
	if t, err := time.Parse(time.RFC3339Nano, d.ParkedAt); err == nil {
		out.ParkedAt = t
	}
	if t, err := time.Parse(time.RFC3339Nano, d.UnparkAt); err == nil {
		out.UnparkAt = &t
	}
	if !it.DateExpires.IsZero() {
		t := it.DateExpires
		out.ExpiresAt = &t
	}
	// taskAttributes is JSON text (as the plugin sends it) or an object.
	var attrs map[string]any
	switch v := d.TaskAttributes.(type) {
	case string:
		_ = decodeJSON([]byte(v), &attrs)
	case map[string]any:
		attrs = v
	}
	out.CustomerAddress = customerIdentity(attrs)
	if s, ok := attrs["customerName"].(string); ok {
		out.CustomerName = s
	}
	if out.ChannelType == "" {
		out.ChannelType, _ = attrs["channelType"].(string)
	}
	return out
}
