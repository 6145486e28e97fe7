package webhooks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/flexhooks/flexhooks"
)

// Profile is a channel user profile: one inbound identifier (a phone
// number, a WhatsApp number, a chat identity) on one channel, optionally
// linked to a known customer. Stored in ProfileMap under its ID.
type Profile struct {
	ID           string `json:"id"`
	Channel      string `json:"channel"`
	Address      string `json:"address"`
	CustomerID   string `json:"customerId,omitempty"`
	CustomerName string `json:"customerName,omitempty"`
	// CustomerLinkedBy is who linked CustomerID: "service" or
	// "supervisor:WK…". Only such a link lets an agent join two profiles'
	// sessions (persistent chat); empty for a link made before the rule.
	CustomerLinkedBy string    `json:"customerLinkedBy,omitempty"`
	CreatedAt        time.Time `json:"createdAt"`
	UpdatedAt        time.Time `json:"updatedAt,omitzero"`
}

// ProfileID is the ID of the profile of an address on a channel: derived,
// not allocated, so that every replica finds the same profile without a
// lookup and two first messages cannot make two profiles.
func ProfileID(channel, address string) string {
	sum := sha256.Sum256([]byte(profileChannel(channel) + "\n" + strings.ToLower(strings.TrimSpace(address))))
	return "PF" + hex.EncodeToString(sum[:16])
}

// profileChannel is the channel as Flex names it in a task's channelType:
// web chat is "web" there, while people (and the emulator's inbound API)
// call it "chat"; both must find the same profile.
func profileChannel(channel string) string {
	switch c := strings.ToLower(strings.TrimSpace(channel)); c {
	case "chat", "webchat":
		return "web"
	default:
		return c
	}
}

// profileIndexEntry is an item of ProfileInteractionsMap.
type profileIndexEntry struct {
	ConversationSid string `json:"conversationSid"`
}

// profileIndexKey sorts a profile's interactions newest first: the key
// carries the opening time inverted (Sync lists keys in ascending order).
func profileIndexKey(profileID string, openedAt time.Time, csid string) string {
	const far = 9_999_999_999_999 // milliseconds, past the year 2286
	return fmt.Sprintf("%s%013d%s%s", profileIndexPrefix(profileID), far-max(openedAt.UnixMilli(), 0), profileIndexSep, csid)
}

// profileIndexSep separates an index key's parts. Not ".": twilio-go
// removes every "." followed by digits from a GET's query string (its
// notation for list parameters), so a page's From of "PF….8204…" would
// reach Sync as "PF…" and the page would come back empty.
const profileIndexSep = "_"

// profileIndexPrefix starts every index key of a profile.
func profileIndexPrefix(profileID string) string { return profileID + profileIndexSep }

// profile finds the profile of a new interaction's customer, making it on
// first contact (made: this call made it). Two makers race harmlessly: the
// loser reads the winner's. While most customers are new ones (profileMix),
// the profile is created without reading first: one call for a new
// customer instead of two, two (the create's 54208, the read) for a
// returning one instead of one. Not while a legacy single Map holds
// profiles: a profile only there must be found, not made again.
func (in *Interactions) profile(ctx context.Context, open openFacts) (p *Profile, made bool, err error) {
	id := ProfileID(open.Channel, open.CustomerAddress)
	createFirst := in.profileMix.mostlyNew() && !in.legacyHas(ctx, ProfileMap)
	for range 2 {
		if !createFirst {
			p, err := in.fetchProfile(ctx, id)
			if !isNotFound(err) {
				if err == nil {
					in.profileMix.saw(false)
				}
				return p, false, err
			}
		}
		createFirst = false
		p = &Profile{ID: id, Channel: open.Channel, Address: open.CustomerAddress, CreatedAt: in.now().UTC()}
		err = in.tw.CreateSyncMapItem(ctx, ProfileMapOf(id), id, p, 0)
		if !isConflict(err) {
			if err == nil {
				in.profileMix.saw(true)
			}
			return p, err == nil, err
		}
	}
	return nil, false, flexhooks.Errorf(flexhooks.EUNAVAILABLE, "profile %s: changed concurrently, try again", id)
}

// profileMix tallies, over this replica's recent interactions, how many
// were a new customer's: which of read-first and create-first costs fewer
// calls. Both orders learn the answer, so no exploring is needed.
type profileMix struct {
	mu          sync.Mutex
	seen, fresh int
}

// mostlyNew reports whether at least half the recent customers were new
// (and, with nothing seen yet, yes: a new deployment's customers are).
func (m *profileMix) mostlyNew() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return 2*m.fresh >= m.seen
}

// saw counts one customer, new or not; the tally halves every 512 so that
// it follows the recent past.
func (m *profileMix) saw(isNew bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seen++
	if isNew {
		m.fresh++
	}
	if m.seen >= 512 {
		m.seen, m.fresh = m.seen/2, m.fresh/2
	}
}

// fetchProfile reads a profile; ENOTFOUND when there is none.
func (in *Interactions) fetchProfile(ctx context.Context, id string) (*Profile, error) {
	p, _, err := in.loadProfile(ctx, id)
	return p, err
}

// loadProfile reads a profile and its revision from its shard (or the
// legacy single Map, see fetchSharded).
func (in *Interactions) loadProfile(ctx context.Context, id string) (*Profile, string, error) {
	it, err := in.fetchSharded(ctx, ProfileMap, ProfileMapOf(id), id)
	if err != nil {
		return nil, "", err
	}
	p := new(Profile)
	if err := json.Unmarshal(it.Data, p); err != nil {
		return nil, "", &flexhooks.Error{Code: flexhooks.EINTERNAL, Message: "profile " + id + " is not readable", Err: err}
	}
	return p, it.Revision, nil
}

// listProfileIndex lists up to limit of a profile's index entries after
// from, in key order: from the profile's shard, merged with the legacy
// single Map's while it holds items.
func (in *Interactions) listProfileIndex(ctx context.Context, profileID, from string, limit int) ([]SyncItem, error) {
	items, err := in.tw.ListSyncMapItemsAfter(ctx, ProfileIndexMapOf(profileID), from, limit)
	if err != nil || !in.legacyHas(ctx, ProfileInteractionsMap) {
		return items, err
	}
	old, err := in.tw.ListSyncMapItemsAfter(ctx, ProfileInteractionsMap, from, limit)
	if err != nil {
		return nil, err
	}
	merged := append(items, old...)
	slices.SortFunc(merged, func(a, b SyncItem) int { return strings.Compare(a.Key, b.Key) })
	merged = slices.CompactFunc(merged, func(a, b SyncItem) bool { return a.Key == b.Key })
	return merged[:min(len(merged), limit)], nil
}
