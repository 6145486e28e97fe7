package webhooks

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/flexhooks/flexhooks"
)

// Interaction numbers come from blocks. A replica reserves a block of
// numbers with one conditional update of the counter item
// (InteractionCounterMap / InteractionCounterKey, {"last": n}: the highest
// number reserved by anyone) and hands them out from memory. So the counter
// is written once per block, not once per conversation: its rate depends on
// how many replicas there are, not on the contact centre's traffic.
//
// What this gives up: numbers are unique but not gapless (a replica that
// stops leaves the rest of its block unused) and not in opening order
// across replicas (two replicas open INT0000017 and INT0000033 side by
// side). Within one replica they increase.
//
// The block grows while blocks run out quickly and shrinks while they last
// long, so that a replica takes about one block every blockTarget whatever
// its traffic, between minBlock and maxBlock numbers: a quiet deployment
// wastes few numbers on a restart, a busy one writes the counter rarely.
const (
	minBlock    = 16
	maxBlock    = 4096
	blockTarget = time.Minute
)

// numberBlock is the block this replica hands numbers out of.
type numberBlock struct {
	mu         sync.Mutex
	next, last int64 // next to hand out; last of the block (next > last: empty)
	size       int64
	takenAt    time.Time
}

// allocateNumber hands out the next number of this replica's block,
// reserving a new block when it is used up.
func (in *Interactions) allocateNumber(ctx context.Context) (string, error) {
	b := &in.numbers
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.next == 0 || b.next > b.last {
		if err := in.reserveBlock(ctx, b); err != nil {
			return "", err
		}
	}
	n := b.next
	b.next++
	return fmt.Sprintf("%s%0*d", in.cfg.NumberPrefix, in.cfg.NumberDigits, n), nil
}

// reserveBlock advances the counter by the block's size under If-Match
// and makes the numbers in between this replica's. Called with b.mu held:
// the replica's other openings wait for the block rather than reserve
// blocks of their own.
func (in *Interactions) reserveBlock(ctx context.Context, b *numberBlock) error {
	now := in.now()
	switch {
	case b.size == 0:
		b.size = minBlock
	case now.Sub(b.takenAt) < blockTarget/2:
		b.size = min(b.size*2, maxBlock)
	case now.Sub(b.takenAt) > 4*blockTarget:
		b.size = max(b.size/2, minBlock)
	}
	for attempt := range maxUpdateAttempts * 2 {
		it, err := in.tw.FetchSyncMapItem(ctx, InteractionCounterMap, InteractionCounterKey)
		var last int64
		switch {
		case isNotFound(err):
			err = in.tw.CreateSyncMapItem(ctx, InteractionCounterMap, InteractionCounterKey, counter{Last: b.size}, 0)
		case err != nil:
			return err
		default:
			var c counter
			if err := json.Unmarshal(it.Data, &c); err != nil {
				return &flexhooks.Error{Code: flexhooks.EINTERNAL, Message: "the interaction number counter is not readable", Err: err}
			}
			last = c.Last
			_, err = in.tw.UpdateSyncMapItem(ctx, InteractionCounterMap, InteractionCounterKey, counter{Last: last + b.size}, it.Revision)
		}
		if err == nil {
			b.next, b.last, b.takenAt = last+1, last+b.size, now
			return nil
		}
		if !isConflict(err) {
			return err
		}
		backoff(ctx, attempt)
	}
	return flexhooks.Errorf(flexhooks.EUNAVAILABLE, "could not reserve interaction numbers: too many concurrent reservations")
}

// counter is the number counter's data.
type counter struct {
	Last int64 `json:"last"`
}
