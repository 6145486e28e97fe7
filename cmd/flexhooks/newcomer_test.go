package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newcomer is a terminal beside `make run`: curl and jq, as in the README.
type newcomer struct {
	t          *testing.T
	emu, svc   string
	sid, token string
}

// curl sends body as `curl -d` does (Content-Type
// application/x-www-form-urlencoded, whatever the body) and decodes the answer.
func (n *newcomer) curl(method, url, body string, header map[string]string) (int, map[string]any) {
	n.t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(n.t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(n.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(n.t, err)
	var out map[string]any
	if len(b) > 0 {
		require.NoError(n.t, json.Unmarshal(b, &out), "%s %s: %.300s", method, url, b)
	}
	return resp.StatusCode, out
}

// twilio calls the emulator's TaskRouter REST API as the Flex UI would.
func (n *newcomer) taskrouter(path string, form url.Values) map[string]any {
	n.t.Helper()
	req, err := http.NewRequest(http.MethodPost, n.emu+path, strings.NewReader(form.Encode()))
	require.NoError(n.t, err)
	req.Host = "taskrouter.twilio.com"
	req.SetBasicAuth(n.sid, n.token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(n.t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(n.t, json.NewDecoder(resp.Body).Decode(&out))
	require.Less(n.t, resp.StatusCode, 300, "%v", out)
	// The webhooks this call causes are delivered asynchronously, as
	// Twilio's are; wait for them as a newcomer would by looking later.
	n.curl(http.MethodPost, n.emu+"/emulator/settle", "", nil)
	return out
}

func (n *newcomer) state() map[string]any {
	_, st := n.curl(http.MethodGet, n.emu+"/emulator/state", "", nil)
	return st
}

// jq walks a decoded JSON value: keys, and numeric indexes into arrays.
func jq(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func str(v any) string { s, _ := v.(string); return s }

// startNewcomer runs `flexhooks serve` with no configuration at all, as
// `make run` does in a fresh shell, and reads its paste line.
func startNewcomer(t *testing.T) *newcomer {
	out := startServe(t).out
	n := &newcomer{t: t}
	for _, line := range strings.Split(out.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, "export "); ok {
			for _, kv := range strings.Fields(rest) {
				k, v, _ := strings.Cut(kv, "=")
				switch k {
				case "TWILIO_ACCOUNT_SID":
					n.sid = v
				case "TWILIO_AUTH_TOKEN":
					n.token = v
				case "E":
					n.emu = v
				case "PUBLIC_BASE_URL":
					n.svc = strings.Replace(v, "localhost", "127.0.0.1", 1)
				}
			}
		}
	}
	require.NotEmpty(t, n.emu, out.String())
	require.NotEmpty(t, n.svc, out.String())
	return n
}

// TestNewcomerWalkthrough is the README's walkthrough, step by step, on
// `flexhooks serve` with no configuration: if the README rots, this fails.
func TestNewcomerWalkthrough(t *testing.T) {
	n := startNewcomer(t)
	customer := `{"from":"+15551230001","to":"+15550009999","channel":"sms","body":"Hi, my order is late"}`

	// 1. A customer writes in by SMS.
	status, in := n.curl(http.MethodPost, n.emu+"/emulator/inbound", customer, nil)
	require.Equal(t, http.StatusOK, status, "%v", in)
	conversation := str(in["conversationSid"])
	require.NotEmpty(t, in["taskSid"])

	// 2. Alice accepts through the real TaskRouter API.
	st := n.state()
	ws := str(jq(st, "seeded", "workspaceSid"))
	task := str(jq(st, "taskrouter", "workspaces", 0, "reservations", 0, "taskSid"))
	res := str(jq(st, "taskrouter", "workspaces", 0, "reservations", 0, "sid"))
	got := n.taskrouter("/v1/Workspaces/"+ws+"/Tasks/"+task+"/Reservations/"+res, url.Values{"ReservationStatus": {"accepted"}})
	assert.Equal(t, "accepted", got["reservation_status"])
	assert.Equal(t, "alice", got["worker_name"])
	conv := jq(n.state(), "conversations", "conversations", 0)
	assert.Equal(t, "PT25M", jq(conv, "timers", "inactive"), "make run wired the inactivity timeout: the warning is armed")

	// Alice replies as her Flex UI does (Conversations SDK): the record sees the first reply.
	status, msg := n.curl(http.MethodPost, n.emu+"/emulator/conversations/"+conversation+"/messages", `{"author":"alice","body":"Let me check"}`, nil)
	require.Equal(t, http.StatusOK, status, "%v", msg)

	// 3. Alice parks it; the body is JSON sent as curl -d sends it.
	_, tok := n.curl(http.MethodPost, n.emu+"/emulator/workers/alice/token", "", nil)
	token := str(tok["token"])
	auth := map[string]string{"Authorization": "Bearer " + token}
	st = n.state()
	tsk := jq(st, "taskrouter", "workspaces", 0, "tasks", 0)
	ch := jq(st, "flex", "interactions", 0, "channel")
	var agent string
	for _, p := range jq(ch, "participants").([]any) {
		if jq(p, "type") == "agent" {
			agent = str(jq(p, "sid"))
		}
	}
	park, err := json.Marshal(map[string]any{
		"conversationSid": jq(tsk, "attributes", "conversationSid"), "interactionSid": jq(tsk, "attributes", "flexInteractionSid"),
		"channelSid": jq(ch, "sid"), "channelType": jq(ch, "type"), "participantSid": agent, "taskSid": jq(tsk, "sid"),
		"workflowSid": jq(tsk, "workflowSid"), "taskChannelUniqueName": jq(tsk, "taskChannel"), "queueName": jq(tsk, "queue"),
		"queueSid": jq(tsk, "queueSid"), "taskAttributes": jq(tsk, "attributes"), "workerSid": jq(tsk, "workerSid"),
		"createUpdateSyncMapItem": true,
	})
	require.NoError(t, err)
	status, body := n.curl(http.MethodPost, n.svc+"/park-interaction", string(park), auth)
	require.Equal(t, http.StatusOK, status, "%v", body)
	assert.Equal(t, true, body["parked"])
	status, body = n.curl(http.MethodGet, n.svc+"/parked-interactions", "", auth)
	require.Equal(t, http.StatusOK, status, "%v", body)
	assert.EqualValues(t, 1, body["total"], "make run turned the parked list on")

	// 4. The customer writes again: one new task, with originalRouting, offered to alice.
	status, in = n.curl(http.MethodPost, n.emu+"/emulator/inbound", strings.Replace(customer, "Hi, my order is late", "I am back", 1), nil)
	require.Equal(t, http.StatusOK, status, "%v", in)
	var back map[string]any
	for _, tk := range jq(n.state(), "taskrouter", "workspaces", 0, "tasks").([]any) {
		if jq(tk, "assignmentStatus") == "reserved" {
			back = tk.(map[string]any)
		}
	}
	require.NotNil(t, back, "the returning customer's task is offered")
	assert.NotNil(t, jq(back, "attributes", "originalRouting"))
	var backRes string
	for _, r := range jq(n.state(), "taskrouter", "workspaces", 0, "reservations").([]any) {
		if jq(r, "taskSid") == back["sid"] && jq(r, "status") == "pending" {
			backRes = str(jq(r, "sid"))
		}
	}
	require.NotEmpty(t, backRes)
	n.taskrouter("/v1/Workspaces/"+ws+"/Tasks/"+str(back["sid"])+"/Reservations/"+backRes, url.Values{"ReservationStatus": {"accepted"}})

	// 5. Time passes: a warning at 25 minutes, the close at 30.
	n.curl(http.MethodPost, n.emu+"/emulator/clock", `{"advance":"PT25M"}`, nil)
	n.curl(http.MethodPost, n.emu+"/emulator/clock", `{"advance":"PT5M"}`, nil)
	conv = jq(n.state(), "conversations", "conversations", 0)
	assert.Equal(t, "closed", jq(conv, "state"), "closed for inactivity")
	var texts []string
	for _, m := range jq(conv, "messages").([]any) {
		texts = append(texts, str(jq(m, "body")))
	}
	assert.Contains(t, texts, "Are you still there? This conversation will close soon.")
	assert.Contains(t, texts, "We closed this conversation after a period of inactivity. Write again any time.")

	// 6. The interaction record and the transcript.
	status, body = n.curl(http.MethodGet, n.svc+"/interactions/"+conversation, "", auth)
	require.Equal(t, http.StatusOK, status, "%v", body)
	assert.Equal(t, conversation, body["conversationSid"])
	assert.Equal(t, "Closed Abandoned", body["state"], "%v", body)
	assert.Equal(t, "Customer inactive", body["stateReason"])
	assert.Equal(t, "first_reply", body["waitTimeSource"], "alice's SDK message is the first reply: %v", body)
	status, body = n.curl(http.MethodGet, n.svc+"/conversations/"+conversation+"/transcript", "", auth)
	require.Equal(t, http.StatusOK, status, "%v", body)
	assert.Contains(t, strings.Join(func() []string {
		var s []string
		for _, m := range jq(body, "messages").([]any) {
			s = append(s, str(jq(m, "body")))
		}
		return s
	}(), "|"), "Hi, my order is late")
}
