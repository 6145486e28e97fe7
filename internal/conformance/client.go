package conformance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	conversations "github.com/twilio/twilio-go/rest/conversations/v1"
	syncv1 "github.com/twilio/twilio-go/rest/sync/v1"

	"github.com/flexhooks/flexhooks/internal/twilio"
)

// Prefix starts the name of every resource a run creates, so that anyone
// looking at the account knows where it came from.
const Prefix = "flexhooks-conformance-"

// cleanupTimeout bounds the removal of a run's resources. It has its own
// budget: the run's context may be canceled already (Ctrl-C).
const cleanupTimeout = 30 * time.Second

// Client is what a probe runs against: twilio-go through flexhooks' own
// transport stack, and the resources this run made, to be removed at its
// end. Build the *twilio.Client with retries off (MaxAttempts 1): a probe
// must see Twilio's first answer, a 429 included.
type Client struct {
	tw           *twilio.Client
	workspaceSID string
	run          string    // this run's name: Prefix and random hex
	log          io.Writer // one line per resource made and removed

	mu       sync.Mutex
	syncSvc  string // the run's Sync service, made on first use
	cleanups []cleanup
}

// cleanup removes one resource the run made.
type cleanup struct {
	what   string // "Sync service IS…", named in the log and in errors
	remove func(ctx context.Context) error
}

// NewClient returns a Client over tw. workspaceSID may be empty: the
// TaskRouter probe is then skipped. log receives a line per resource made
// and removed, so that a run killed before its cleanup leaves SIDs to
// remove by hand.
func NewClient(tw *twilio.Client, workspaceSID string, log io.Writer) *Client {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return &Client{tw: tw, workspaceSID: workspaceSID, run: Prefix + hex.EncodeToString(b[:]), log: log}
}

// API returns twilio-go services bound to ctx.
func (c *Client) API(ctx context.Context) *twilio.API { return c.tw.API(ctx) }

// Name names one of the run's resources: the run's name, then part.
func (c *Client) Name(part string) string { return c.run + "-" + part }

// made records a resource to remove at the end of the run.
func (c *Client) made(what string, remove func(ctx context.Context) error) {
	c.mu.Lock()
	c.cleanups = append(c.cleanups, cleanup{what: what, remove: remove})
	c.mu.Unlock()
	fmt.Fprintf(c.log, "created %s (removed at the end of the run)\n", what)
}

// SyncService returns the run's own Sync service, made on first use. Every
// Sync probe works inside it, and removing it removes all they made.
func (c *Client) SyncService(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.syncSvc != "" {
		return c.syncSvc, nil
	}
	svc, err := c.API(ctx).Sync.CreateService((&syncv1.CreateServiceParams{}).SetFriendlyName(c.run))
	if err != nil {
		return "", fmt.Errorf("creating the run's Sync service: %w", err)
	}
	sid := *svc.Sid
	c.syncSvc = sid
	c.cleanups = append(c.cleanups, cleanup{what: "Sync service " + sid, remove: func(ctx context.Context) error {
		return c.API(ctx).Sync.DeleteService(sid)
	}})
	fmt.Fprintf(c.log, "created Sync service %s %q (removed at the end of the run)\n", sid, c.run)
	return sid, nil
}

// SyncMap makes a map of the run's own in its Sync service.
func (c *Client) SyncMap(ctx context.Context, part string) (svc, mapSid string, err error) {
	if svc, err = c.SyncService(ctx); err != nil {
		return "", "", err
	}
	m, err := c.API(ctx).Sync.CreateSyncMap(svc, (&syncv1.CreateSyncMapParams{}).SetUniqueName(c.Name(part)))
	if err != nil {
		return "", "", fmt.Errorf("creating a Sync map: %w", err)
	}
	return svc, *m.Sid, nil // removed with the service
}

// Conversation makes a conversation of the run's own, in the account's
// default Conversation Service, with no participants (so that nobody is
// messaged and Flex makes no interaction of it).
func (c *Client) Conversation(ctx context.Context, part string) (string, error) {
	conv, err := c.API(ctx).Conversations.CreateConversation((&conversations.CreateConversationParams{}).
		SetFriendlyName(c.Name(part)))
	if err != nil {
		return "", fmt.Errorf("creating a conversation: %w", err)
	}
	sid := *conv.Sid
	c.made("conversation "+sid+" "+c.Name(part), func(ctx context.Context) error {
		return c.API(ctx).Conversations.DeleteConversation(sid, nil)
	})
	return sid, nil
}

// cleanup removes what the run made, newest first, with its own deadline
// (ctx may be canceled already). A resource already gone counts as removed.
func (c *Client) cleanup(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	c.mu.Lock()
	todo := c.cleanups
	c.cleanups, c.syncSvc = nil, ""
	c.mu.Unlock()
	var errs []error
	for i := len(todo) - 1; i >= 0; i-- {
		err := todo[i].remove(ctx)
		if status, _, ok := twilioError(err); ok && status == 404 {
			err = nil
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("could not remove %s (remove it by hand): %w", todo[i].what, err))
			continue
		}
		fmt.Fprintf(c.log, "removed %s\n", todo[i].what)
	}
	return errors.Join(errs...)
}
