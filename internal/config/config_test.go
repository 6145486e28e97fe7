package config

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	accountSID = "AC0123456789abcdef0123456789abcdef"
	authToken  = "fedcba9876543210fedcba98765432XY"
	apiKey     = "SK0123456789abcdef0123456789abcdef"
	apiSecret  = "secretsecretsecretsecretsecretZW"
	wsSID      = "WS0123456789abcdef0123456789abcdef"
	isSID      = "IS0123456789abcdef0123456789abcdef"
	wwSID      = "WW0123456789abcdef0123456789abcdef"
)

// clearEnv unsets every variable Config reads, so that the developer's own
// environment cannot leak into a test; t.Setenv restores them afterwards.
func clearEnv(t *testing.T) {
	t.Helper()
	ct := reflect.TypeFor[Config]()
	for i := range ct.NumField() {
		name := ct.Field(i).Tag.Get("envconfig")
		t.Setenv(name, "")
		require.NoError(t, os.Unsetenv(name))
	}
}

func setEnv(t *testing.T, vars map[string]string) {
	t.Helper()
	for k, v := range vars {
		t.Setenv(k, v)
	}
}

// twilioEnv is a complete, valid configuration for a real Twilio account.
func twilioEnv() map[string]string {
	return map[string]string{
		"TWILIO_ACCOUNT_SID":                     accountSID,
		"TWILIO_AUTH_TOKEN":                      authToken,
		"TWILIO_FLEX_WORKSPACE_SID":              wsSID,
		"TWILIO_FLEX_CHAT_SERVICE_SID":           isSID,
		"TWILIO_FLEX_CHAT_TRANSFER_WORKFLOW_SID": wwSID,
		"PUBLIC_BASE_URL":                        "https://hooks.example.com/",
	}
}

func TestLoadDefaultsEmbedded(t *testing.T) {
	clearEnv(t)
	got, err := Load()
	require.NoError(t, err)
	assert.True(t, got.Embedded())
	assert.Equal(t, ":8080", got.Addr)
	assert.Equal(t, "http://localhost:8080", got.PublicBaseURL)
	assert.Equal(t, "default", got.SyncServiceSID)
	assert.Equal(t, 10*time.Second, got.TwilioTimeout)
	assert.Equal(t, 3, got.TwilioMaxAttempts)
	assert.Equal(t, slog.LevelInfo, got.LogLevel)
	assert.Equal(t, []string{"https://flex.twilio.com"}, got.CORSAllowedOrigins)
	assert.Equal(t, "127.0.0.1:4010", got.EmulatorAddr)
	assert.Equal(t, 24*time.Hour, got.ParkedTTL)
	assert.Equal(t, 7*24*time.Hour, got.PersistentChatWindow.D())
	assert.EqualValues(t, 1<<20, got.MaxRequestBodyBytes)
	assert.Equal(t, 5*time.Minute, got.FlexTokenRevalidateAfter)
	// The demo: every capability on.
	assert.True(t, got.ParkedList)
	assert.True(t, got.InteractionRecords)
	assert.Equal(t, PersistentChatEntirePastSession, got.PersistentChat)
	assert.Equal(t, 30*time.Minute, got.InactivityTimeoutFor("sms"))
	assert.Equal(t, 25*time.Minute, got.InactivityWarning.D())
	assert.NotEmpty(t, got.InactivityWarningMessage)
	assert.NotEmpty(t, got.InactivityMessage)
}

// TestDemoValues checks the rules of the embedded demo: a capability takes
// its demo values only when none of its variables is set, and never with a
// Twilio account.
func TestDemoValues(t *testing.T) {
	t.Run("a variable set, even empty, keeps its capability as configured", func(t *testing.T) {
		clearEnv(t)
		setEnv(t, map[string]string{"INACTIVITY_TIMEOUT": "PT10M", "PARKED_TTL": "1h", "PERSISTENT_CHAT_WINDOW": ""})
		got, err := Load()
		require.NoError(t, err, "a demo warning (PT25M) must not be mixed with the operator's PT10M timeout")
		assert.Equal(t, 10*time.Minute, got.InactivityTimeout.D())
		assert.Zero(t, got.InactivityWarning)
		assert.Empty(t, got.InactivityMessage)
		assert.False(t, got.ParkedList, "PARKED_TTL set: the parked list is the operator's")
		assert.Equal(t, PersistentChatOff, got.PersistentChat, "PERSISTENT_CHAT_WINDOW set (empty)")
		assert.True(t, got.InteractionRecords, "untouched capabilities still take the demo")
		for _, c := range Capabilities() {
			assert.Equal(t, c.Name == "interaction records", c.Demo, c.Name)
		}
	})
	t.Run("empty turns a capability off", func(t *testing.T) {
		clearEnv(t)
		setEnv(t, map[string]string{"INACTIVITY_TIMEOUT": ""})
		got, err := Load()
		require.NoError(t, err)
		assert.Zero(t, got.InactivityTimeoutFor("chat"))
		assert.Contains(t, strings.Join(got.Summary(), "\n"), "inactivity timeout  off  (INACTIVITY_TIMEOUT=PT30M turns it on)")
	})
	t.Run("no demo with a Twilio account", func(t *testing.T) {
		clearEnv(t)
		setEnv(t, twilioEnv())
		got, err := Load()
		require.NoError(t, err)
		assert.False(t, got.ParkedList)
		assert.False(t, got.InteractionRecords)
		assert.Equal(t, PersistentChatOff, got.PersistentChat)
		assert.Zero(t, got.InactivityTimeout)
		for _, line := range got.Summary() {
			assert.Contains(t, line, " off ", line)
			assert.NotContains(t, line, "demo", line)
		}
	})
	t.Run("summary", func(t *testing.T) {
		clearEnv(t)
		got, err := Load()
		require.NoError(t, err)
		sum := strings.Join(got.Summary(), "\n")
		assert.Contains(t, sum, "parked list         on   PARKED_LIST=true PARKED_TTL=24h0m0s (PARKED_LIST=false turns it off) [demo value of the embedded emulator]")
		assert.Contains(t, sum, "inactivity timeout  on   INACTIVITY_TIMEOUT=PT30M INACTIVITY_WARNING=PT25M")
		assert.Len(t, got.Summary(), 4)
	})
}

func TestLoadValidTwilio(t *testing.T) {
	clearEnv(t)
	setEnv(t, twilioEnv())
	setEnv(t, map[string]string{
		"TWILIO_API_KEY":                  apiKey,
		"TWILIO_API_SECRET":               apiSecret,
		"LOG_LEVEL":                       "debug",
		"CORS_ALLOWED_ORIGINS":            "https://flex.twilio.com, http://localhost:3000/",
		"PARKED_LIST":                     "true",
		"PARKED_TTL":                      "0s",
		"INACTIVITY_TIMEOUT":              "PT30M",
		"INACTIVITY_TIMEOUT_SMS":          "PT2H",
		"INACTIVITY_WARNING":              "PT25M",
		"INACTIVITY_WARNING_MESSAGE":      "Still there?",
		"INACTIVITY_MESSAGE":              "Closing this chat.",
		"INACTIVITY_WHATSAPP_CONTENT_SID": "HX0123456789abcdef0123456789abcdef",
		"INTERACTION_RECORDS":             "true",
		"PERSISTENT_CHAT":                 "from_segment",
		"PERSISTENT_CHAT_WINDOW":          "P3D",
		"TWILIO_TIMEOUT":                  "3s",
	})
	got, err := Load()
	require.NoError(t, err)
	assert.False(t, got.Embedded())
	assert.True(t, got.UsesAPIKey())
	assert.Equal(t, "https://hooks.example.com", got.PublicBaseURL)
	assert.Equal(t, []string{"https://flex.twilio.com", "http://localhost:3000"}, got.CORSAllowedOrigins)
	assert.Equal(t, slog.LevelDebug, got.LogLevel)
	assert.True(t, got.ParkedList)
	assert.Zero(t, got.ParkedTTL)
	assert.Equal(t, 30*time.Minute, got.InactivityTimeoutFor("chat"))
	assert.Equal(t, 2*time.Hour, got.InactivityTimeoutFor("sms"))
	assert.Equal(t, 25*time.Minute, got.InactivityWarning.D())
	assert.Equal(t, PersistentChatFromSegment, got.PersistentChat)
	assert.Equal(t, 3*24*time.Hour, got.PersistentChatWindow.D())
	assert.Equal(t, 3*time.Second, got.TwilioTimeout)
}

func TestLoadSharedEmulatorAllowsHTTP(t *testing.T) {
	clearEnv(t)
	setEnv(t, twilioEnv())
	setEnv(t, map[string]string{"EMULATOR_URL": "http://emulator:4010", "PUBLIC_BASE_URL": "http://lb:8080"})
	got, err := Load()
	require.NoError(t, err)
	assert.Equal(t, "http://lb:8080", got.PublicBaseURL)

	// A running emulator names its workspace and chat service itself.
	require.NoError(t, os.Unsetenv("TWILIO_FLEX_WORKSPACE_SID"))
	require.NoError(t, os.Unsetenv("TWILIO_FLEX_CHAT_SERVICE_SID"))
	_, err = Load()
	assert.NoError(t, err)
}

// TestLoadProblems checks that each bad value yields exactly its one line.
func TestLoadProblems(t *testing.T) {
	seed := filepath.Join(t.TempDir(), "missing.json")
	for _, tc := range []struct {
		name string
		env  map[string]string // applied over twilioEnv(); "-" unsets
		want string            // the one problem line (prefix)
	}{
		{"account sid", map[string]string{"TWILIO_ACCOUNT_SID": "AC123"}, `TWILIO_ACCOUNT_SID: want AC followed by 32 lowercase hex digits, got "AC123"`},
		{"auth token missing", map[string]string{"TWILIO_AUTH_TOKEN": "-"}, "TWILIO_AUTH_TOKEN: required with TWILIO_ACCOUNT_SID"},
		{"auth token chars", map[string]string{"TWILIO_AUTH_TOKEN": "abc-def"}, "TWILIO_AUTH_TOKEN: want letters and digits only (value not shown)"},
		{"api key without secret", map[string]string{"TWILIO_API_KEY": apiKey}, "TWILIO_API_SECRET: required with TWILIO_API_KEY"},
		{"api secret without key", map[string]string{"TWILIO_API_SECRET": apiSecret}, "TWILIO_API_KEY: required with TWILIO_API_SECRET"},
		{"api key format", map[string]string{"TWILIO_API_KEY": "AC0123456789abcdef0123456789abcdef", "TWILIO_API_SECRET": apiSecret}, "TWILIO_API_KEY: want SK followed by 32 lowercase hex digits"},
		{"workspace missing", map[string]string{"TWILIO_FLEX_WORKSPACE_SID": "-"}, "TWILIO_FLEX_WORKSPACE_SID: required when TWILIO_ACCOUNT_SID is set"},
		{"workspace format", map[string]string{"TWILIO_FLEX_WORKSPACE_SID": isSID}, "TWILIO_FLEX_WORKSPACE_SID: want WS followed"},
		{"chat service", map[string]string{"TWILIO_FLEX_CHAT_SERVICE_SID": wsSID}, "TWILIO_FLEX_CHAT_SERVICE_SID: want IS followed"},
		{"sync service", map[string]string{"TWILIO_FLEX_SYNC_SID": "mine"}, "TWILIO_FLEX_SYNC_SID: want IS followed"},
		{"workflow", map[string]string{"TWILIO_FLEX_CHAT_TRANSFER_WORKFLOW_SID": "WW1"}, "TWILIO_FLEX_CHAT_TRANSFER_WORKFLOW_SID: want WW followed"},
		{"public url missing", map[string]string{"PUBLIC_BASE_URL": "-"}, "PUBLIC_BASE_URL: required with TWILIO_ACCOUNT_SID"},
		{"public url http", map[string]string{"PUBLIC_BASE_URL": "http://hooks.example.com"}, "PUBLIC_BASE_URL: want https (http only for localhost or the emulator)"},
		{"public url relative", map[string]string{"PUBLIC_BASE_URL": "hooks.example.com"}, "PUBLIC_BASE_URL: want an absolute https URL"},
		{"addr", map[string]string{"ADDR": "8080"}, `ADDR: want a listen address such as :8080 or 0.0.0.0:8080, got "8080"`},
		{"log level", map[string]string{"LOG_LEVEL": "loud"}, `LOG_LEVEL: want one of debug, info, warn, error, got "loud"`},
		{"cors wildcard", map[string]string{"CORS_ALLOWED_ORIGINS": "*"}, `CORS_ALLOWED_ORIGINS: want comma-separated origins`},
		{"cors path", map[string]string{"CORS_ALLOWED_ORIGINS": "https://flex.twilio.com/agent-desktop"}, `CORS_ALLOWED_ORIGINS: want comma-separated origins`},
		{"body limit", map[string]string{"MAX_REQUEST_BODY_BYTES": "0"}, "MAX_REQUEST_BODY_BYTES: want a positive number of bytes"},
		{"body limit text", map[string]string{"MAX_REQUEST_BODY_BYTES": "1MB"}, `MAX_REQUEST_BODY_BYTES: want a number of bytes such as 1048576, got "1MB"`},
		{"emulator addr", map[string]string{"EMULATOR_ADDR": "localhost"}, "EMULATOR_ADDR: want host:port"},
		{"emulator url", map[string]string{"EMULATOR_URL": "127.0.0.1:4010"}, "EMULATOR_URL: want the emulator's base URL"},
		{"emulator seed", map[string]string{"EMULATOR_SEED": seed}, "EMULATOR_SEED: want a readable JSON seed file"},
		{"timeout", map[string]string{"TWILIO_TIMEOUT": "10"}, `TWILIO_TIMEOUT: want a Go duration such as 10s, got "10"`},
		{"timeout zero", map[string]string{"TWILIO_TIMEOUT": "0s"}, "TWILIO_TIMEOUT: want a positive Go duration"},
		{"token revalidate text", map[string]string{"FLEX_TOKEN_REVALIDATE_AFTER": "5"}, `FLEX_TOKEN_REVALIDATE_AFTER: want a Go duration such as 5m, got "5"`},
		{"token revalidate zero", map[string]string{"FLEX_TOKEN_REVALIDATE_AFTER": "0s"}, "FLEX_TOKEN_REVALIDATE_AFTER: want a Go duration from 1s to 1h such as 5m, got 0s"},
		{"token revalidate long", map[string]string{"FLEX_TOKEN_REVALIDATE_AFTER": "24h"}, "FLEX_TOKEN_REVALIDATE_AFTER: want a Go duration from 1s to 1h such as 5m, got 24h0m0s"},
		{"attempts", map[string]string{"TWILIO_MAX_ATTEMPTS": "0"}, "TWILIO_MAX_ATTEMPTS: want a whole number from 1 to 10, got 0"},
		{"parked list", map[string]string{"PARKED_LIST": "yes"}, `PARKED_LIST: want true or false, got "yes"`},
		{"parked ttl", map[string]string{"PARKED_TTL": "-1h"}, "PARKED_TTL: want whole seconds from 0"},
		{"inactivity format", map[string]string{"INACTIVITY_TIMEOUT": "30m"}, `INACTIVITY_TIMEOUT: want an ISO-8601 duration of at least PT1M, e.g. PT30M, got "30m"`},
		{"inactivity min", map[string]string{"INACTIVITY_TIMEOUT": "PT30S"}, "INACTIVITY_TIMEOUT: want at least PT1M"},
		{"inactivity sms min", map[string]string{"INACTIVITY_TIMEOUT_SMS": "PT10S"}, "INACTIVITY_TIMEOUT_SMS: want at least PT1M"},
		{"warning alone", map[string]string{"INACTIVITY_WARNING": "PT5M", "INACTIVITY_WARNING_MESSAGE": "hi"}, "INACTIVITY_WARNING: needs INACTIVITY_TIMEOUT"},
		{"warning too long", map[string]string{"INACTIVITY_TIMEOUT": "PT10M", "INACTIVITY_WARNING": "PT10M", "INACTIVITY_WARNING_MESSAGE": "hi"}, "INACTIVITY_WARNING: want shorter than INACTIVITY_TIMEOUT (PT10M), got PT10M"},
		{"warning message", map[string]string{"INACTIVITY_TIMEOUT": "PT10M", "INACTIVITY_WARNING": "PT5M"}, "INACTIVITY_WARNING_MESSAGE: required with INACTIVITY_WARNING"},
		{"content sid", map[string]string{"INACTIVITY_WHATSAPP_CONTENT_SID": "HX1"}, "INACTIVITY_WHATSAPP_CONTENT_SID: want HX followed"},
		{"interaction records", map[string]string{"INTERACTION_RECORDS": "maybe"}, `INTERACTION_RECORDS: want true or false, got "maybe"`},
		{"persistent chat", map[string]string{"PERSISTENT_CHAT": "ALWAYS"}, `PERSISTENT_CHAT: want off, ENTIRE_PAST_SESSION or FROM_SEGMENT, got "ALWAYS"`},
		{"persistent window format", map[string]string{"PERSISTENT_CHAT_WINDOW": "7d"}, `PERSISTENT_CHAT_WINDOW: want an ISO-8601 duration such as P7D, got "7d"`},
		{"persistent window empty", map[string]string{"PERSISTENT_CHAT": "ENTIRE_PAST_SESSION", "PERSISTENT_CHAT_WINDOW": ""}, "PERSISTENT_CHAT_WINDOW: want a positive ISO-8601 duration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			setEnv(t, twilioEnv())
			for k, v := range tc.env {
				if v == "-" {
					require.NoError(t, os.Unsetenv(k))
					continue
				}
				t.Setenv(k, v)
			}
			_, err := Load()
			var cerr *Error
			require.True(t, errors.As(err, &cerr), "want *config.Error, got %v", err)
			require.Len(t, cerr.Problems, 1, "problems: %q", cerr.Problems)
			assert.True(t, strings.HasPrefix(cerr.Problems[0], tc.want), "got  %q\nwant %q…", cerr.Problems[0], tc.want)
		})
	}
}

func TestLoadEmbeddedProblems(t *testing.T) {
	clearEnv(t)
	setEnv(t, map[string]string{"TWILIO_AUTH_TOKEN": authToken, "EMULATOR_URL": "http://127.0.0.1:4010"})
	_, err := Load()
	var cerr *Error
	require.ErrorAs(t, err, &cerr)
	assert.Equal(t, []string{
		"TWILIO_AUTH_TOKEN: set without TWILIO_ACCOUNT_SID: set both to use Twilio, or neither to run on the embedded emulator",
		"EMULATOR_URL: needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, the credentials the running emulator printed",
	}, cerr.Problems)
}

// TestLoadAllProblemsAtOnce checks that parse failures (which stop envconfig
// at the first one) and validation failures are all reported together.
func TestLoadAllProblemsAtOnce(t *testing.T) {
	clearEnv(t)
	setEnv(t, map[string]string{
		"TWILIO_ACCOUNT_SID":  "nope",
		"TWILIO_TIMEOUT":      "soon",
		"LOG_LEVEL":           "chatty",
		"PARKED_LIST":         "sure",
		"INACTIVITY_TIMEOUT":  "PT10S",
		"PERSISTENT_CHAT":     "never",
		"TWILIO_MAX_ATTEMPTS": "many",
	})
	_, err := Load()
	var cerr *Error
	require.ErrorAs(t, err, &cerr)
	vars := map[string]bool{}
	for _, p := range cerr.Problems {
		vars[strings.SplitN(p, ":", 2)[0]] = true
	}
	for _, v := range []string{"TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FLEX_WORKSPACE_SID", "TWILIO_FLEX_CHAT_SERVICE_SID",
		"PUBLIC_BASE_URL", "TWILIO_TIMEOUT", "TWILIO_MAX_ATTEMPTS", "LOG_LEVEL", "PARKED_LIST", "INACTIVITY_TIMEOUT", "PERSISTENT_CHAT"} {
		assert.True(t, vars[v], "no problem reported for %s in:\n%s", v, err)
	}
	assert.Len(t, cerr.Problems, 11, err.Error())
	assert.Equal(t, len(cerr.Problems)+1, strings.Count(err.Error(), "\n")+1, "one line per problem plus the heading")
}

func TestLogValueMasksSecrets(t *testing.T) {
	clearEnv(t)
	setEnv(t, twilioEnv())
	setEnv(t, map[string]string{"TWILIO_API_KEY": apiKey, "TWILIO_API_SECRET": apiSecret})
	cfg, err := Load()
	require.NoError(t, err)

	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "config", cfg)
	out := buf.String()
	assert.NotContains(t, out, authToken)
	assert.NotContains(t, out, apiSecret)
	assert.NotContains(t, out, authToken[:30])
	assert.Contains(t, out, `"TWILIO_AUTH_TOKEN":"****XY"`)
	assert.Contains(t, out, `"TWILIO_API_SECRET":"****ZW"`)
	assert.Contains(t, out, `"TWILIO_ACCOUNT_SID":"`+accountSID+`"`)
	assert.Contains(t, out, `"TWILIO_TIMEOUT":"10s"`)
	assert.NotContains(t, out, "EMBEDDED", "the mode is the start line's, not a variable")
}

func TestMask(t *testing.T) {
	assert.Equal(t, "", Mask(""))
	assert.Equal(t, "****", Mask("short"))
	assert.Equal(t, "****ef", Mask("0123456789abcdef"))
}
