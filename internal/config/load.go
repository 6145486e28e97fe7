package config

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/flexhooks/flexhooks/internal/isoduration"
)

// Error lists every problem found in the configuration, one line each,
// naming the variable and what it expects.
type Error struct {
	Problems []string
}

func (e *Error) Error() string {
	return "invalid configuration:\n  " + strings.Join(e.Problems, "\n  ")
}

// Load reads the configuration from the process environment and checks it.
// On any problem it returns *Error listing all of them.
func Load() (Config, error) {
	var c Config
	var problems []string
	failed := map[string]bool{} // variables that did not parse: not checked further

	// envconfig stops at the first variable it cannot parse. Processing the
	// struct one field at a time (a one-field struct with the same type and
	// tags) keeps envconfig's defaults and conversions and still reports
	// every bad variable.
	// In embedded mode, capabilities left unconfigured take their demo
	// values as defaults (demo.go).
	demo := demoTags()
	cv := reflect.ValueOf(&c).Elem()
	ct := cv.Type()
	for i := range ct.NumField() {
		f := ct.Field(i)
		tag := f.Tag
		if t, ok := demo[f.Tag.Get("envconfig")]; ok {
			tag = t
		}
		one := reflect.New(reflect.StructOf([]reflect.StructField{{Name: f.Name, Type: f.Type, Tag: tag}}))
		if err := envconfig.Process("", one.Interface()); err != nil {
			name := f.Tag.Get("envconfig")
			failed[name] = true
			problems = append(problems, fmt.Sprintf("%s: want %s, got %q", name, f.Tag.Get("want"), os.Getenv(name)))
			continue
		}
		cv.Field(i).Set(one.Elem().Field(0))
	}

	problems = append(problems, c.validate(failed)...)
	if len(problems) > 0 {
		return c, &Error{Problems: problems}
	}
	return c, nil
}

var (
	hex32 = `[0-9a-f]{32}$`
	sidRE = map[string]*regexp.Regexp{
		"AC": regexp.MustCompile(`^AC` + hex32),
		"SK": regexp.MustCompile(`^SK` + hex32),
		"WS": regexp.MustCompile(`^WS` + hex32),
		"IS": regexp.MustCompile(`^IS` + hex32),
		"WW": regexp.MustCompile(`^WW` + hex32),
		"HX": regexp.MustCompile(`^HX` + hex32),
	}
	// twilio-go refuses credentials that are not plain letters and digits
	// (errors 21222/21224) at the first call; better to say so at start.
	alnum = regexp.MustCompile(`^[A-Za-z0-9]+$`)
)

// minTimer is Twilio's minimum for a conversation's timers.inactive.
const minTimer = time.Minute

// maxSyncTTL is the longest TTL Twilio Sync accepts (one year, in seconds).
const maxSyncTTL = 365 * 24 * time.Hour

// validate checks what parsing cannot, normalises a few values in place,
// and returns one line per problem. failed names variables that did not
// parse; they already have their line.
func (c *Config) validate(failed map[string]bool) []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	sid := func(name, prefix, value string, required bool) {
		switch {
		case value == "" && required:
			add("%s: required when TWILIO_ACCOUNT_SID is set: want %s followed by 32 lowercase hex digits", name, prefix)
		case value != "" && !sidRE[prefix].MatchString(value):
			add("%s: want %s followed by 32 lowercase hex digits, got %q", name, prefix, value)
		}
	}

	// Credentials and SIDs matter only when talking to a Twilio account
	// (real or an emulator already running); in embedded mode the emulator
	// supplies them.
	if !c.Embedded() {
		sid("TWILIO_ACCOUNT_SID", "AC", c.AccountSID, true)
		switch {
		case c.AuthToken == "":
			add("TWILIO_AUTH_TOKEN: required with TWILIO_ACCOUNT_SID (it checks webhook signatures and Flex tokens, even when an API key is set)")
		case !alnum.MatchString(c.AuthToken):
			add("TWILIO_AUTH_TOKEN: want letters and digits only (value not shown)")
		}
		switch {
		case c.APIKey != "" && c.APISecret == "":
			add("TWILIO_API_SECRET: required with TWILIO_API_KEY")
		case c.APIKey == "" && c.APISecret != "":
			add("TWILIO_API_KEY: required with TWILIO_API_SECRET: want SK followed by 32 lowercase hex digits")
		case c.APIKey != "":
			sid("TWILIO_API_KEY", "SK", c.APIKey, false)
			if !alnum.MatchString(c.APISecret) {
				add("TWILIO_API_SECRET: want letters and digits only (value not shown)")
			}
		}
		// A running emulator (EMULATOR_URL) names its own workspace and
		// chat service: serve and setup ask it (app.FromEmulator).
		onSharedEmulator := c.EmulatorURL != ""
		sid("TWILIO_FLEX_WORKSPACE_SID", "WS", c.WorkspaceSID, !onSharedEmulator)
		sid("TWILIO_FLEX_CHAT_SERVICE_SID", "IS", c.ChatServiceSID, !onSharedEmulator)
		if c.SyncServiceSID != "default" {
			sid("TWILIO_FLEX_SYNC_SID", "IS", c.SyncServiceSID, false)
			if c.SyncServiceSID == "" {
				add(`TWILIO_FLEX_SYNC_SID: want "default" or IS followed by 32 lowercase hex digits, got ""`)
			}
		}
		sid("TWILIO_FLEX_CHAT_TRANSFER_WORKFLOW_SID", "WW", c.TransferWorkflowSID, false)
		sid("TWILIO_FLEX_DEFAULT_WORKFLOW_SID", "WW", c.DefaultWorkflowSID, false)
	} else {
		for _, v := range []struct{ name, value string }{
			{"TWILIO_AUTH_TOKEN", c.AuthToken}, {"TWILIO_API_KEY", c.APIKey}, {"TWILIO_API_SECRET", c.APISecret},
		} {
			if v.value != "" {
				add("%s: set without TWILIO_ACCOUNT_SID: set both to use Twilio, or neither to run on the embedded emulator", v.name)
			}
		}
		if c.EmulatorURL != "" {
			add("EMULATOR_URL: needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, the credentials the running emulator printed")
		}
	}

	if d := c.ParkMaxAge.D(); !failed["PARK_MAX_AGE"] && (d < time.Hour || d >= 180*24*time.Hour) {
		// Twilio deletes an interaction channel after 180 days without
		// activity: a park must end before its channel does.
		add("PARK_MAX_AGE: want an ISO-8601 duration from PT1H to P179D (Twilio deletes an idle interaction channel after 180 days), got %s", c.ParkMaxAge)
	}
	if c.ParkExpiry != "close" && c.ParkExpiry != "route" {
		add("PARK_EXPIRY: want close or route, got %q", c.ParkExpiry)
	}
	if !failed["SWEEP_INTERVAL"] && c.SweepInterval < 0 {
		add("SWEEP_INTERVAL: want a Go duration such as 1m, or 0 to turn it off, got %s", c.SweepInterval)
	}
	if !failed["SWEEP_GRACE"] && c.SweepGrace < 30*time.Second {
		add("SWEEP_GRACE: want a Go duration of at least 30s (above any request's deadline), got %s", c.SweepGrace)
	}
	if !failed["TWILIO_TIMEOUT"] && c.TwilioTimeout <= 0 {
		add("TWILIO_TIMEOUT: want a positive Go duration such as 10s, got %s", c.TwilioTimeout)
	}
	if !failed["TWILIO_MAX_ATTEMPTS"] && (c.TwilioMaxAttempts < 1 || c.TwilioMaxAttempts > 10) {
		add("TWILIO_MAX_ATTEMPTS: want a whole number from 1 to 10, got %d", c.TwilioMaxAttempts)
	}

	// The emulator, embedded or shared, is reached over plain http on a
	// private network; real Twilio only calls https.
	onEmulator := c.Embedded() || c.EmulatorURL != ""
	_, port, addrErr := net.SplitHostPort(c.Addr)
	if addrErr != nil || !validPort(port) {
		add("ADDR: want a listen address such as :8080 or 0.0.0.0:8080, got %q", c.Addr)
	}
	switch {
	case c.PublicBaseURL == "" && onEmulator:
		if addrErr == nil {
			c.PublicBaseURL = "http://localhost:" + port
		}
	case c.PublicBaseURL == "":
		add("PUBLIC_BASE_URL: required with TWILIO_ACCOUNT_SID: the https URL Twilio reaches this service at (webhook signatures are computed over it)")
	default:
		u, err := url.Parse(c.PublicBaseURL)
		switch {
		case err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Scheme != "https" && u.Scheme != "http"):
			add("PUBLIC_BASE_URL: want an absolute https URL such as https://hooks.example.com, got %q", c.PublicBaseURL)
		case u.Scheme == "http" && !onEmulator && !isLocalhost(u.Hostname()):
			add("PUBLIC_BASE_URL: want https (http only for localhost or the emulator), got %q", c.PublicBaseURL)
		default:
			c.PublicBaseURL = strings.TrimRight(c.PublicBaseURL, "/")
		}
	}

	origins := c.CORSAllowedOrigins[:0]
	for _, o := range c.CORSAllowedOrigins {
		o = strings.TrimRight(strings.TrimSpace(o), "/")
		if o == "" {
			continue
		}
		if !validOrigin(o) {
			add("CORS_ALLOWED_ORIGINS: want comma-separated origins such as https://flex.twilio.com (scheme://host[:port], no path, no *), got %q", o)
			continue
		}
		origins = append(origins, o)
	}
	c.CORSAllowedOrigins = origins

	if !failed["MAX_REQUEST_BODY_BYTES"] && c.MaxRequestBodyBytes <= 0 {
		add("MAX_REQUEST_BODY_BYTES: want a positive number of bytes such as 1048576, got %d", c.MaxRequestBodyBytes)
	}

	if !failed["FLEX_TOKEN_REVALIDATE_AFTER"] && (c.FlexTokenRevalidateAfter < time.Second || c.FlexTokenRevalidateAfter > time.Hour) {
		add("FLEX_TOKEN_REVALIDATE_AFTER: want a Go duration from 1s to 1h such as 5m, got %s", c.FlexTokenRevalidateAfter)
	}

	if _, port, err := net.SplitHostPort(c.EmulatorAddr); err != nil || !validPort(port) {
		add("EMULATOR_ADDR: want host:port such as 127.0.0.1:4010, got %q", c.EmulatorAddr)
	}
	if c.EmulatorURL != "" {
		u, err := url.Parse(c.EmulatorURL)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" {
			add("EMULATOR_URL: want the emulator's base URL such as http://127.0.0.1:4010, got %q", c.EmulatorURL)
		}
	}
	if c.EmulatorSeed != "" {
		if st, err := os.Stat(c.EmulatorSeed); err != nil || !st.Mode().IsRegular() {
			add("EMULATOR_SEED: want a readable JSON seed file, got %q", c.EmulatorSeed)
		}
	}

	if !failed["PARKED_TTL"] && (c.ParkedTTL < 0 || c.ParkedTTL > maxSyncTTL || c.ParkedTTL%time.Second != 0) {
		add("PARKED_TTL: want whole seconds from 0 (no expiry) to 8760h (Sync's maximum), got %s", c.ParkedTTL)
	}

	timeouts := []struct {
		name string
		d    isoduration.Duration
	}{
		{"INACTIVITY_TIMEOUT", c.InactivityTimeout},
		{"INACTIVITY_TIMEOUT_SMS", c.InactivityTimeoutSMS},
		{"INACTIVITY_TIMEOUT_WHATSAPP", c.InactivityTimeoutWhatsApp},
		{"INACTIVITY_TIMEOUT_CHAT", c.InactivityTimeoutChat},
		{"INACTIVITY_TIMEOUT_MESSENGER", c.InactivityTimeoutMessenger},
	}
	anyTimeout := false
	for _, t := range timeouts {
		if t.d == 0 || failed[t.name] {
			continue
		}
		anyTimeout = true
		if t.d.D() < minTimer {
			add("%s: want at least PT1M (Twilio's minimum for a conversation timer), got %s", t.name, t.d)
		}
	}
	if w := c.InactivityWarning; w != 0 && !failed["INACTIVITY_WARNING"] {
		switch {
		case !anyTimeout:
			add("INACTIVITY_WARNING: needs INACTIVITY_TIMEOUT (or a per-channel INACTIVITY_TIMEOUT_*): the warning comes before the timeout")
		case w.D() < minTimer:
			add("INACTIVITY_WARNING: want at least PT1M (Twilio's minimum for a conversation timer), got %s", w)
		}
		for _, t := range timeouts {
			if t.d != 0 && w >= t.d && !failed[t.name] {
				add("INACTIVITY_WARNING: want shorter than %s (%s), got %s", t.name, t.d, w)
			}
		}
		if c.InactivityWarningMessage == "" {
			add("INACTIVITY_WARNING_MESSAGE: required with INACTIVITY_WARNING: the text sent to the customer")
		}
	}
	sid("INACTIVITY_WHATSAPP_CONTENT_SID", "HX", c.InactivityWhatsAppContentSID, false)

	switch strings.ToUpper(c.PersistentChat) {
	case "OFF", "":
		c.PersistentChat = PersistentChatOff
	case PersistentChatEntirePastSession, PersistentChatFromSegment:
		c.PersistentChat = strings.ToUpper(c.PersistentChat)
		if c.PersistentChatWindow <= 0 && !failed["PERSISTENT_CHAT_WINDOW"] {
			add("PERSISTENT_CHAT_WINDOW: want a positive ISO-8601 duration such as P7D with PERSISTENT_CHAT=%s", c.PersistentChat)
		}
	default:
		add("PERSISTENT_CHAT: want off, ENTIRE_PAST_SESSION or FROM_SEGMENT, got %q", c.PersistentChat)
	}
	return p
}

func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0 && n <= 65535
}

func isLocalhost(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validOrigin accepts a browser origin: scheme://host[:port] and nothing else.
func validOrigin(o string) bool {
	u, err := url.Parse(o)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" &&
		u.Path == "" && u.RawQuery == "" && u.Fragment == "" && u.User == nil && !strings.Contains(u.Host, "*")
}
