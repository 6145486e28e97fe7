// Package config reads the service's configuration from the environment
// (see .env.example at the repository root) and checks it, reporting every
// problem at once so that an operator fixes a deployment in one go.
package config

import (
	"log/slog"
	"time"

	"github.com/flexhooks/flexhooks/internal/isoduration"
)

// Config is the whole configuration. Each field names its variable; `want`
// says what a valid value looks like and is what a problem line quotes when
// the value cannot be parsed; `secret` fields are masked in logs.
// `capability` groups the variables of one optional capability, and `demo`
// is the value the embedded-emulator demo (`make run` with no Twilio
// account) uses when none of that capability's variables is set (demo.go).
type Config struct {
	// --- Twilio account -------------------------------------------------

	// AccountSID is the Twilio account. Empty means embedded mode: the
	// service runs on an in-process Twilio emulator and takes its SIDs from it.
	AccountSID string `envconfig:"TWILIO_ACCOUNT_SID"`
	// AuthToken is the account's auth token. Always needed with AccountSID:
	// it checks X-Twilio-Signature on webhooks and authenticates Flex token
	// validation, even when an API key makes the REST calls.
	AuthToken string `envconfig:"TWILIO_AUTH_TOKEN" secret:"true"`
	// APIKey (SK…) and APISecret, when set, authenticate REST calls instead
	// of the auth token, so that the key can be rotated or revoked alone.
	APIKey    string `envconfig:"TWILIO_API_KEY"`
	APISecret string `envconfig:"TWILIO_API_SECRET" secret:"true"`

	// WorkspaceSID is the Flex TaskRouter workspace (WS…).
	WorkspaceSID string `envconfig:"TWILIO_FLEX_WORKSPACE_SID"`
	// ChatServiceSID is the Flex Conversations service (IS…).
	ChatServiceSID string `envconfig:"TWILIO_FLEX_CHAT_SERVICE_SID"`
	// SyncServiceSID is the Sync service holding the parked lists: "default"
	// (the account's default service, which the Flex UI reads) or IS….
	SyncServiceSID string `envconfig:"TWILIO_FLEX_SYNC_SID" default:"default"`
	// TransferWorkflowSID is the "Chat Transfer" workflow (WW…) that routes
	// transfers; `flexhooks setup` creates it. Transfers fail without it.
	TransferWorkflowSID string `envconfig:"TWILIO_FLEX_CHAT_TRANSFER_WORKFLOW_SID"`
	// DefaultWorkflowSID is the route an unpark falls back to when the
	// workflow a park named has been deleted since (WW…). Unset, the
	// workspace's "Assign to Anyone" workflow (Flex's default) is used.
	DefaultWorkflowSID string `envconfig:"TWILIO_FLEX_DEFAULT_WORKFLOW_SID"`

	// TwilioTimeout bounds one Twilio HTTP call (one attempt); the
	// request's own deadline bounds all of them together.
	TwilioTimeout time.Duration `envconfig:"TWILIO_TIMEOUT" default:"10s" want:"a Go duration such as 10s"`
	// TwilioMaxAttempts is how many times one Twilio call may be tried
	// (first try included) on 429, 503 and connection failures.
	TwilioMaxAttempts int `envconfig:"TWILIO_MAX_ATTEMPTS" default:"3" want:"a whole number from 1 to 10"`

	// --- HTTP service ---------------------------------------------------

	// PublicBaseURL is where Twilio reaches this service (https://…). It
	// builds the webhook URLs given to Twilio and is the URL signatures are
	// computed over. http is allowed only for localhost and the emulator.
	// Empty in emulator mode means http://localhost:<ADDR's port>.
	PublicBaseURL string `envconfig:"PUBLIC_BASE_URL"`
	// Addr is the listen address.
	Addr string `envconfig:"ADDR" default:":8080"`
	// LogLevel is the minimum level logged.
	LogLevel slog.Level `envconfig:"LOG_LEVEL" default:"info" want:"one of debug, info, warn, error"`
	// CORSAllowedOrigins are the browser origins allowed to call the plugin
	// endpoints (Flex UI and, for plugin development, localhost).
	CORSAllowedOrigins []string `envconfig:"CORS_ALLOWED_ORIGINS" default:"https://flex.twilio.com"`
	// MaxRequestBodyBytes caps a request body; Twilio's webhooks and the
	// plugin's calls are a few KB.
	MaxRequestBodyBytes int64 `envconfig:"MAX_REQUEST_BODY_BYTES" default:"1048576" want:"a number of bytes such as 1048576"`
	// FlexTokenRevalidateAfter is how long a Flex token IAM called valid is
	// trusted before IAM is asked again. A Flex token lives for hours; this
	// bounds how long a revoked token, or a role taken away, keeps working.
	FlexTokenRevalidateAfter time.Duration `envconfig:"FLEX_TOKEN_REVALIDATE_AFTER" default:"5m" want:"a Go duration such as 5m"`

	// --- Emulator -------------------------------------------------------

	// EmulatorAddr is where the embedded emulator listens (embedded mode,
	// and `flexhooks emulator`).
	EmulatorAddr string `envconfig:"EMULATOR_ADDR" default:"127.0.0.1:4010"`
	// EmulatorURL points the service at an emulator that is already running
	// (http://127.0.0.1:4010) instead of Twilio; set the credentials it
	// printed. Replicas share one emulator this way.
	EmulatorURL string `envconfig:"EMULATOR_URL"`
	// EmulatorSeed is a JSON seed file replacing the emulator's default world.
	EmulatorSeed string `envconfig:"EMULATOR_SEED"`

	// --- Capabilities ---------------------------------------------------

	// ParkedList keeps each agent's parked conversations in a Sync map
	// (ParkedInteractions_{workerSid}) that the plugin lists.
	ParkedList bool `envconfig:"PARKED_LIST" default:"false" want:"true or false" capability:"parked list" demo:"true"`
	// ParkedTTL is how long a parked-list item lives; 0 keeps it forever.
	// SMS items never expire, as in Twilio's park-interaction template.
	ParkedTTL time.Duration `envconfig:"PARKED_TTL" default:"24h" want:"a Go duration such as 24h" capability:"parked list"`

	// ParkMaxAge bounds a park's life: a conversation parked this long is
	// closed with ParkExpiredMessage (record Closed Abandoned), or routed
	// back when ParkExpiry is "route". It must stay below the 180 days
	// after which Twilio deletes an idle interaction channel.
	ParkMaxAge isoduration.Duration `envconfig:"PARK_MAX_AGE" default:"P14D" want:"an ISO-8601 duration from PT1H to P179D, e.g. P14D"`
	// ParkExpiry is what happens at ParkMaxAge: close or route.
	ParkExpiry string `envconfig:"PARK_EXPIRY" default:"close" want:"close or route"`
	// ParkExpiredMessage is sent to the customer when an expired park is
	// closed; empty sends nothing.
	ParkExpiredMessage string `envconfig:"PARK_EXPIRED_MESSAGE" default:"We closed this conversation because it was waiting a long time. Write again any time and we will pick it up."`

	// SweepInterval is how often serve runs the sweeper, which finds and
	// finishes or undoes work a failed operation left behind (and fires
	// scheduled unparks and expired parks), with ±20% jitter. 0 turns it
	// off in serve (run flexhooks sweep from a CronJob instead).
	SweepInterval time.Duration `envconfig:"SWEEP_INTERVAL" default:"1m" want:"a Go duration such as 1m, or 0 to turn it off"`
	// SweepGrace is how long a suspect that could be a live operation (an
	// unpark webhook missing while an unpark may be routing) must have been
	// seen before the sweeper repairs it.
	SweepGrace time.Duration `envconfig:"SWEEP_GRACE" default:"2m" want:"a Go duration of at least 30s, such as 2m"`

	// InactivityTimeout closes a conversation after this long without a
	// message (Conversations timers.inactive). Empty disables the feature.
	InactivityTimeout isoduration.Duration `envconfig:"INACTIVITY_TIMEOUT" want:"an ISO-8601 duration of at least PT1M, e.g. PT30M" capability:"inactivity timeout" demo:"PT30M"`
	// Per-channel overrides of InactivityTimeout.
	InactivityTimeoutSMS       isoduration.Duration `envconfig:"INACTIVITY_TIMEOUT_SMS" want:"an ISO-8601 duration of at least PT1M, e.g. PT30M" capability:"inactivity timeout"`
	InactivityTimeoutWhatsApp  isoduration.Duration `envconfig:"INACTIVITY_TIMEOUT_WHATSAPP" want:"an ISO-8601 duration of at least PT1M, e.g. PT30M" capability:"inactivity timeout"`
	InactivityTimeoutChat      isoduration.Duration `envconfig:"INACTIVITY_TIMEOUT_CHAT" want:"an ISO-8601 duration of at least PT1M, e.g. PT30M" capability:"inactivity timeout"`
	InactivityTimeoutMessenger isoduration.Duration `envconfig:"INACTIVITY_TIMEOUT_MESSENGER" want:"an ISO-8601 duration of at least PT1M, e.g. PT30M" capability:"inactivity timeout"`
	// InactivityMessage is sent to the customer when the conversation is
	// closed for inactivity; empty sends nothing.
	InactivityMessage string `envconfig:"INACTIVITY_MESSAGE" capability:"inactivity timeout" demo:"We closed this conversation after a period of inactivity. Write again any time."`
	// InactivityWarning, when set, warns the customer this long after their
	// last message, before the timeout closes the conversation.
	InactivityWarning isoduration.Duration `envconfig:"INACTIVITY_WARNING" want:"an ISO-8601 duration of at least PT1M, e.g. PT25M" capability:"inactivity timeout" demo:"PT25M"`
	// InactivityWarningMessage is the warning's text.
	InactivityWarningMessage string `envconfig:"INACTIVITY_WARNING_MESSAGE" capability:"inactivity timeout" demo:"Are you still there? This conversation will close soon."`
	// InactivityWhatsAppContentSID (HX…) is the approved template sent
	// instead of the messages on WhatsApp, where free text is refused
	// outside the 24-hour window.
	InactivityWhatsAppContentSID string `envconfig:"INACTIVITY_WHATSAPP_CONTENT_SID" capability:"inactivity timeout"`

	// InteractionRecords keeps an interaction record per conversation, and
	// channel profiles, in Sync. Persistent chat turns them on too: its
	// contact chains live in the records.
	InteractionRecords bool `envconfig:"INTERACTION_RECORDS" default:"false" want:"true or false" capability:"interaction records" demo:"true"`

	// PersistentChat links a returning customer's new chat to their last
	// one automatically: off, ENTIRE_PAST_SESSION or FROM_SEGMENT.
	PersistentChat string `envconfig:"PERSISTENT_CHAT" default:"off" capability:"persistent chat" demo:"ENTIRE_PAST_SESSION"`
	// PersistentChatWindow is how long after a chat ended a returning
	// customer is linked to it automatically.
	PersistentChatWindow isoduration.Duration `envconfig:"PERSISTENT_CHAT_WINDOW" default:"P7D" want:"an ISO-8601 duration such as P7D" capability:"persistent chat"`
}

// Persistent chat modes.
const (
	PersistentChatOff               = "off"
	PersistentChatEntirePastSession = "ENTIRE_PAST_SESSION"
	PersistentChatFromSegment       = "FROM_SEGMENT"
)

// Embedded reports whether the service runs on its own in-process emulator:
// no Twilio account is configured.
func (c Config) Embedded() bool { return c.AccountSID == "" }

// UsesAPIKey reports whether REST calls authenticate with an API key.
func (c Config) UsesAPIKey() bool { return c.APIKey != "" }

// InactivityTimeoutFor returns the inactivity timeout for a Flex channel
// type (sms, whatsapp, chat, web, messenger), falling back to
// InactivityTimeout; 0 means none.
func (c Config) InactivityTimeoutFor(channelType string) time.Duration {
	var d isoduration.Duration
	switch channelType {
	case "sms":
		d = c.InactivityTimeoutSMS
	case "whatsapp":
		d = c.InactivityTimeoutWhatsApp
	case "chat", "web":
		d = c.InactivityTimeoutChat
	case "messenger":
		d = c.InactivityTimeoutMessenger
	}
	if d == 0 {
		d = c.InactivityTimeout
	}
	return d.D()
}
