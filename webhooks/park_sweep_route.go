package webhooks

import (
	"context"
	"sort"
)

// expiredNoticeAttributes marks the expired-park notice as the service's
// own message (the inactivity timeout and transcripts tell them apart).
const expiredNoticeAttributes = `{"` + messageMarker + `":"park-expired"}`

// restoreHook gives a park whose unpark webhook was lost its way back:
// a new webhook, named in the claim and the key. If the customer wrote
// since the park (the lost unpark was theirs), they are routed at once.
func (s *parkSweep) restoreHook(rec ParkRecord) func(context.Context) error {
	return func(ctx context.Context) error {
		csid := rec.ConversationSid
		v, gone, err := s.read(ctx, rec)
		if err != nil {
			return err
		}
		if gone || len(v.hooks) > 0 {
			return ErrRepairUnneeded
		}
		if _, err := s.p.claims.fetch(ctx, s.tw, ParkClaimMap, csid); err != nil {
			if isNotFound(err) {
				return ErrRepairUnneeded // an unpark finished meanwhile
			}
			return err
		}
		hook := s.p.unparkWebhook(rec)
		if hook.Sid, err = s.tw.CreateConversationWebhook(ctx, csid, hook); err != nil {
			return err
		}
		rec.WebhookSid = hook.Sid
		if err := s.tw.PutSyncMapItem(ctx, parkClaimMapOf(csid), csid, rec, 0); err != nil {
			return err
		}
		if v.keyed {
			if attrs, err := withPark(v.conv.Attributes, rec); err == nil {
				// The key's webhook SID is informative (unpark finds the
				// webhook by its URL): a failed write is no harm.
				s.p.bestEffort(ctx, "sweep", "rename webhook in key", s.tw.UpdateConversationAttributes(ctx, csid, attrs))
			}
		}
		wrote, err := s.customerWroteSince(ctx, rec, rec.ParkedAt)
		if err != nil || !wrote {
			return err // the webhook is back: the next message routes
		}
		return s.claimAndResume(ctx, v.conv, rec, hook, UnparkStranded)
	}
}

// routeBack unparks rec's conversation as an unpark does, for a reason of
// the sweeper's own (a snooze that ended, an expired park routed back):
// deleting the unpark webhook is the claim, so it races the customer's
// message and an agent's unpark safely, and happens once.
func (s *parkSweep) routeBack(rec ParkRecord, reason string) func(context.Context) error {
	return func(ctx context.Context) error {
		conv, hook, err := s.parkedWithHook(ctx, rec)
		if err != nil {
			return err
		}
		return s.claimAndResume(ctx, conv, rec, hook, reason)
	}
}

// parkedWithHook re-reads a park about to be routed or closed: its
// conversation and the unpark webhook whose deletion claims it.
// ErrRepairUnneeded when it is closed or has no webhook left.
func (s *parkSweep) parkedWithHook(ctx context.Context, rec ParkRecord) (Conversation, Webhook, error) {
	v, gone, err := s.read(ctx, rec)
	if err != nil {
		return Conversation{}, Webhook{}, err
	}
	hook := s.p.pickUnparkWebhook(v.hooks, rec.WebhookSid)
	if gone || hook == nil {
		return Conversation{}, Webhook{}, ErrRepairUnneeded
	}
	return v.conv, *hook, nil
}

func (s *parkSweep) claimAndResume(ctx context.Context, conv Conversation, rec ParkRecord, hook Webhook, reason string) error {
	if err := s.tw.DeleteConversationWebhook(ctx, rec.ConversationSid, hook.Sid); err != nil {
		if isNotFound(err) {
			return ErrRepairUnneeded // the customer or an agent unparked first
		}
		return err
	}
	_, err := s.p.resume(ctx, conv, rec, hook, reason, false)
	return err
}

// expire ends a park that reached PARK_MAX_AGE: routed back with
// PARK_EXPIRY=route; else closed (the default), the customer told, and
// the record marked Closed Abandoned. Closing is the default because a
// customer silent for two weeks is gone: routing would hand an agent a
// task whose only possible end is closing it, and keep the conversation
// open towards Twilio's 180-day channel deletion.
func (s *parkSweep) expire(rec ParkRecord) func(context.Context) error {
	if s.p.cfg.RouteExpired {
		return s.routeBack(rec, UnparkExpired)
	}
	return func(ctx context.Context) error {
		csid := rec.ConversationSid
		_, hook, err := s.parkedWithHook(ctx, rec)
		if err != nil {
			return err
		}
		// The webhook's deletion is the claim here too: a customer writing
		// at this moment is either routed by their message or closed here.
		if err := s.tw.DeleteConversationWebhook(ctx, csid, hook.Sid); err != nil {
			if isNotFound(err) {
				return ErrRepairUnneeded
			}
			return err
		}
		if s.closing != nil {
			s.closing(ctx, csid)
		}
		if msg := s.p.cfg.ExpiredMessage; msg != "" {
			// Best effort: WhatsApp refuses free text outside its 24-hour
			// window, and an expired park is always outside it.
			s.p.bestEffort(ctx, "park expired", "notice", s.tw.SendMessage(ctx, csid, OutboundMessage{Body: msg, Attributes: expiredNoticeAttributes}))
		}
		if err := s.tw.CloseInteractionChannel(ctx, rec.InteractionSid, rec.ChannelSid); err != nil {
			s.p.recreateWebhook(ctx, csid, hook.URL) // still parked: keep the way back
			return err
		}
		return alsoDone(s.forget(rec)(ctx), true)
	}
}

// sweepLists removes parked-list items of no park: an unpark whose list
// delete failed twice, or a park undone. An item without a claim is
// checked against its conversation first, so that parks made by
// flex-project-template's own Functions before flexhooks took over (they
// have list items and webhooks but no claim) stay listed.
func (s *parkSweep) sweepLists(ctx context.Context, run *SweepRun, claims map[string]ParkRecord) error {
	names, err := s.tw.ListSyncMapNames(ctx, ParkedListMapPrefix)
	if err != nil {
		return err
	}
	type listed struct{ name, csid string }
	var stale []listed
	err = run.ScanMaps(ctx, names, func(name string, it SyncItem) {
		if _, ok := claims[it.Key]; !ok && run.Now.Sub(it.DateCreated) >= run.Grace() {
			stale = append(stale, listed{name, it.Key})
		}
	})
	sort.Slice(stale, func(i, j int) bool { return stale[i].name+stale[i].csid < stale[j].name+stale[j].csid })
	for _, l := range stale {
		rec := ParkRecord{ConversationSid: l.csid}
		run.Repair(ctx, Repair{Kind: RepairParkedListStale, Key: l.csid, Detail: "listed in " + l.name + " but not parked",
			Sids: map[string]string{"conversationSid": l.csid, "map": l.name}, Fix: s.dropListItem(l.name, rec)})
	}
	return err
}

func (s *parkSweep) dropListItem(mapName string, rec ParkRecord) func(context.Context) error {
	return func(ctx context.Context) error {
		csid := rec.ConversationSid
		if _, err := s.p.claims.fetch(ctx, s.tw, ParkClaimMap, csid); !isNotFound(err) {
			if err != nil {
				return err
			}
			return ErrRepairUnneeded // parked again meanwhile
		}
		v, gone, err := s.read(ctx, rec)
		if err != nil {
			return err
		}
		if !gone && len(v.hooks) > 0 {
			return ErrRepairUnneeded // a park of the template's Functions
		}
		return ignoreNotFound(s.tw.DeleteSyncMapItem(ctx, mapName, csid))
	}
}
