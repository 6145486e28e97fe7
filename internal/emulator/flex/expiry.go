package flex

import "time"

// channelTTL is how long an interaction channel lives without activity:
// "An interaction channel (UOXXXXXX) is deleted after 180 days of
// inactivity, regardless of its state. … the initial TTL period resets
// every time there is an update to the interaction channel, such as if an
// agent accepts the new task … Changes to the Conversations channel, such as
// updating conversation status or adding or removing a participant, do not
// reset the interaction channel's inactivity period."
// (https://www.twilio.com/docs/flex/developer/conversations/park-an-interaction)
const channelTTL = 180 * 24 * time.Hour

// touchChannel records an update to the interaction channel itself (its
// creation, a status update, an invite, a participant added or updated):
// the 180 days start again.
func (s *Store) touchChannel(ch *channel) {
	ch.DateUpdated = s.env.Now()
	ch.expiry.Stop()
	ch.expiry = s.env.Schedule(ch.DateUpdated.Add(channelTTL), func() { s.deleteChannel(ch) })
}

// deleteChannel forgets an expired channel: fetching it, its participants
// or its invites answers 404 from now on. The conversation is Conversations'
// and stays.
func (s *Store) deleteChannel(ch *channel) {
	if s.channels[ch.Sid] != ch {
		return
	}
	delete(s.channels, ch.Sid)
	if s.convChannel[ch.ConversationSid] == ch {
		delete(s.convChannel, ch.ConversationSid)
	}
	for task, owner := range s.taskChannel {
		if owner == ch {
			delete(s.taskChannel, task)
		}
	}
	for _, pt := range ch.participants {
		delete(s.participants, pt.Sid)
		if s.taskAgent[pt.TaskSid] == pt {
			delete(s.taskAgent, pt.TaskSid)
		}
	}
	for _, inv := range ch.invites {
		delete(s.invites, inv.Sid)
	}
}
