package console_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flexhooks/flexhooks/internal/config"
	"github.com/flexhooks/flexhooks/internal/e2etest"
	"github.com/flexhooks/flexhooks/internal/emulator/console"
	"github.com/flexhooks/flexhooks/internal/isoduration"
)

const closingText = "We closed this chat for inactivity."

// chromium finds a Chromium to drive: $CHROME_PATH, else Debian's.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("CHROME_PATH"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Skip("no Chromium found (set CHROME_PATH, or apt-get install chromium): the console's browser test is skipped")
	return ""
}

// browser starts a headless Chromium with a fresh profile and nothing that
// reaches the internet, at a laptop's width. A script error on the page
// fails the test when it ends.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	var mu sync.Mutex
	var scriptErrors []string
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithListener(func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok && e.ExceptionDetails != nil {
			mu.Lock()
			defer mu.Unlock()
			msg := e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
			scriptErrors = append(scriptErrors, msg)
		}
	}))
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
		mu.Lock()
		defer mu.Unlock()
		assert.Empty(t, scriptErrors, "script errors on the page")
	})
	return ctx
}

// startWorld is the service and the emulator as `make run` wires them: the
// console told flexhooks' address, flexhooks allowing the console's origin.
// Twilio's callbacks are not provisioned: the page's button does it.
func startWorld(t *testing.T) *e2etest.World {
	t.Helper()
	w := e2etest.Start(t, e2etest.Options{Configure: func(c *config.Config) {
		c.CORSAllowedOrigins = append(c.CORSAllowedOrigins, console.Origins(c.EmulatorURL)...)
		c.ParkedList = true
		c.InteractionRecords = true
		c.InactivityTimeout = isoduration.Duration(30 * time.Minute)
		c.InactivityMessage = closingText
	}})
	w.Emu.Console().SetServiceURL(w.Services[0])
	return w
}

// page drives the console in the browser; every wait is for what the page
// shows, which it reads from the emulator once a second.
type page struct {
	t   *testing.T
	ctx context.Context
}

func (p page) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	require.NoError(p.t, chromedp.Do(p.ctx, actions...), what)
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](p page, js string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](js))
	require.NoError(p.t, err, "evaluate %s", js)
	return v
}

// waitFor polls a JavaScript condition until it holds.
func (p page) waitFor(what, js string) {
	p.t.Helper()
	_, err := chromedp.Run(p.ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(20*time.Second), chromedp.WithPollingInterval(100*time.Millisecond)))
	if err != nil {
		text, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.body.innerText.slice(0, 30000)`))
		p.t.Fatalf("waiting for %s (%s): %v\n--- the page shows:\n%s", what, js, err, text)
	}
}

// click scrolls the element to the middle of the window, clear of the
// sticky bar, and clicks it with the mouse.
func (p page) click(sel string) {
	p.t.Helper()
	ok := eval[bool](p, fmt.Sprintf(`(() => { const el = document.querySelector(%q); if (!el) return false; el.scrollIntoView({block: "center"}); return true; })()`, sel))
	require.True(p.t, ok, "no %s on the page", sel)
	p.do("click "+sel, chromedp.Click(chromedp.CSS(sel)))
}

// set gives a form control a value and tells the page, as a person would.
func (p page) set(sel, value string) {
	p.t.Helper()
	ok := eval[bool](p, fmt.Sprintf(`(() => { const el = document.querySelector(%q); el.value = %q;
		el.dispatchEvent(new Event("input", {bubbles: true})); el.dispatchEvent(new Event("change", {bubbles: true})); return el.value === %q; })()`, sel, value, value))
	require.True(p.t, ok, "%s has no option %q", sel, value)
}

// answered waits for the newest answer to an action and checks its status.
func (p page) answered(what string, status int) {
	p.t.Helper()
	p.waitFor(fmt.Sprintf("the answer to %s", what), fmt.Sprintf(
		`(() => { const li = document.querySelector("#answers li"); return !!li && li.dataset.what.startsWith(%q); })()`, what))
	got := eval[string](p, `document.querySelector("#answers li").dataset.status`)
	body := eval[string](p, `document.querySelector("#answers li").innerText`)
	require.Equal(p.t, fmt.Sprint(status), got, "%s answered: %s", what, body)
	// The next action's answer must be told from this one.
	p.do("mark the answer read", chromedp.Evaluate[chromedp.Void](`document.querySelector("#answers li").dataset.what = "(read) " + document.querySelector("#answers li").dataset.what`))
}

// text is an element's visible text, "" when there is none.
func (p page) text(sel string) string {
	p.t.Helper()
	return eval[string](p, fmt.Sprintf(`(document.querySelector(%q) || {innerText: ""}).innerText`, sel))
}

// attr is an element's attribute or property value.
func (p page) attr(sel, name string) string {
	p.t.Helper()
	return eval[string](p, fmt.Sprintf(`(() => { const el = document.querySelector(%q); return el ? String(el.getAttribute(%q) ?? el[%q] ?? "") : ""; })()`, sel, name, name))
}

func (p page) screenshot(path string) {
	p.t.Helper()
	p.do("scroll to the top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	png, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot()) // the window, as a PNG
	require.NoError(p.t, err)
	require.NoError(p.t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(p.t, os.WriteFile(path, png, 0o644))
}

// TestConsoleStory plays a contact-centre story through the console in a
// real browser: a customer writes, alice accepts and replies, parks; the
// customer returns and the conversation comes back to alice; she transfers
// it to bob, who accepts; the clock moves and the conversation closes for
// inactivity. Every step is asserted on what the page shows.
// CONSOLE_SCREENSHOT=path saves a screenshot of the page mid-story.
func TestConsoleStory(t *testing.T) {
	ctx := browser(t)
	w := startWorld(t)
	p := page{t: t, ctx: ctx}
	p.do("open the console", chromedp.Navigate(w.EmuURL+"/"))
	p.waitFor("the page to read the world", `document.querySelector("#live").textContent === "live"`)
	p.waitFor("flexhooks to answer from the page's origin", `document.querySelector("#service-status").textContent === "reachable"`)
	require.Equal(t, w.Services[0], p.attr("#service-url", "value"), "the emulator tells the page flexhooks' address")

	// Twilio's callbacks go to flexhooks, as flexhooks setup makes them.
	p.waitFor("the callbacks not connected", `document.querySelector("#callbacks-status").textContent === "not connected"`)
	p.click("#callbacks-connect")
	p.answered("connect callbacks", 200)
	p.waitFor("the callbacks connected", `document.querySelector("#callbacks-status").textContent === "connected"`)

	// A customer writes by SMS: a conversation, and a reservation offered to alice.
	p.set("#customer-channel", "sms")
	p.set("#customer-from", "+15551230001")
	p.set("#customer-body", "Hi, my order is late")
	p.click("#customer-send")
	p.answered("customer", 200)
	p.waitFor("the conversation with the customer's message", `document.querySelector("#conversations .conv") !== null &&
		document.querySelector("#conversations").innerText.includes("Hi, my order is late")`)
	conv := p.attr("#conversations .conv", "data-conversation")
	require.Regexp(t, `^CH[0-9a-f]{32}$`, conv)

	// alice accepts, through TaskRouter, and replies.
	p.set("#agent-select", "alice")
	p.waitFor("a reservation offered to alice", `document.querySelector("#agent-reservations button.accept") !== null`)
	p.click("#agent-reservations button.accept")
	p.answered("accept", 200)
	p.waitFor("alice's task assigned", `document.querySelector('#workers tr[data-worker="alice"]').innerText.includes("assigned")`)
	p.waitFor("the conversation in alice's hands", `document.querySelector("#agent-conversation").value.startsWith("WT")`)
	p.set("#reply-body", "Sorry about that, let me check.")
	p.click("#reply-send")
	p.answered("reply", 201)
	p.waitFor("alice's reply in the conversation", `document.querySelector("#conversations").innerText.includes("Sorry about that, let me check.")`)
	p.waitFor("a record assigned to alice", `(document.querySelector("#records tr[data-record]") || {innerText: ""}).innerText.includes("alice")`)

	// alice parks: her parked list holds the conversation, she is free.
	p.click("#park-send")
	p.answered("park", 200)
	p.waitFor("the conversation parked", fmt.Sprintf(`document.querySelector('.conv[data-conversation=%q]').innerText.includes("parked")`, conv))
	p.waitFor("alice's parked list", fmt.Sprintf(`document.querySelector('#agent-parked li[data-parked=%q]') !== null`, conv))
	p.waitFor("alice free again", `document.querySelector('#workers tr[data-worker="alice"]').innerText.includes("idle")`)

	// The customer returns: the same conversation is offered to alice again.
	p.set("#customer-body", "I am back")
	p.click("#customer-send")
	p.answered("customer", 200)
	p.waitFor("the customer's return in the same conversation", fmt.Sprintf(
		`document.querySelectorAll("#conversations .conv").length === 1 && document.querySelector('.conv[data-conversation=%q]').innerText.includes("I am back")`, conv))
	p.waitFor("the new task offered to alice", `document.querySelector("#agent-reservations button.accept") !== null`)
	p.click("#agent-reservations button.accept")
	p.answered("accept", 200)
	p.waitFor("the park undone", fmt.Sprintf(`!document.querySelector('.conv[data-conversation=%q] header').innerText.includes("parked") &&
		document.querySelector('#agent-parked li[data-parked]') === null`, conv))
	p.waitFor("alice holds it again", `document.querySelector("#agent-conversation").value.startsWith("WT")`)

	// alice transfers it cold to bob; bob accepts.
	bobSid := p.attr(`#transfer-target option:nth-child(1)`, "value")
	require.Contains(t, p.attr(`#transfer-target option:nth-child(1)`, "textContent"), "bob")
	p.click("details:has(#transfer-form) summary")
	p.waitFor("the transfer form open", `document.querySelector("#transfer-send").checkVisibility()`)
	p.set("#transfer-target", bobSid)
	p.set("#transfer-mode", "cold")
	p.click("#transfer-send")
	p.answered("transfer cold", 200)
	p.set("#agent-select", "bob")
	p.waitFor("the transfer offered to bob", `document.querySelector("#agent-reservations button.accept") !== null`)
	p.click("#agent-reservations button.accept")
	p.answered("accept", 200)
	p.waitFor("bob in the conversation", fmt.Sprintf(
		`document.querySelector('.conv[data-conversation=%q] .facts').innerText.includes("bob") && document.querySelector('#workers tr[data-worker="bob"]').innerText.includes("assigned")`, conv))
	p.waitFor("an inactivity timer on the conversation", fmt.Sprintf(`document.querySelector('.conv[data-conversation=%q] .timer') !== null`, conv))
	p.waitFor("the park claims' Sync map against Twilio's limits", `(() => {
		const row = document.querySelector('#sync tr[data-sync-object^="flexhooks_parks_"]');
		return row !== null && row.querySelectorAll(".meter").length === 4;
	})()`)

	if path := os.Getenv("CONSOLE_SCREENSHOT"); path != "" {
		p.screenshot(path)
	}

	// Thirty-one quiet minutes on the virtual clock: the conversation closes.
	p.set("#clock-advance", "PT31M")
	p.click("#clock-send")
	p.answered("clock", 200)
	p.waitFor("the conversation closed for inactivity", fmt.Sprintf(
		`document.querySelector('.conv[data-conversation=%q]').dataset.state === "closed" && document.querySelector('.conv[data-conversation=%q]').innerText.includes(%q)`, conv, conv, closingText))
	p.waitFor("the record closed", fmt.Sprintf(`(document.querySelector('#records tr[data-record=%q]') || {dataset: {}}).dataset.state?.startsWith("Closed")`, conv))
	p.waitFor("bob free", `document.querySelector('#workers tr[data-worker="bob"]').innerText.includes("idle")`)
}

// connect points Twilio's callbacks at flexhooks from the page.
func (p page) connect() {
	p.t.Helper()
	p.click("#callbacks-connect")
	p.answered("connect callbacks", 200)
	p.waitFor("the callbacks connected", `document.querySelector("#callbacks-status").textContent === "connected"`)
}

// customerWrites sends a customer's message from the page.
func (p page) customerWrites(from, body string) {
	p.t.Helper()
	p.set("#customer-from", from)
	p.set("#customer-body", body)
	p.click("#customer-send")
	p.answered("customer", 200)
}

// accept plays an agent accepting the reservation offered to them.
func (p page) accept(agent string) {
	p.t.Helper()
	p.set("#agent-select", agent)
	p.waitFor("a reservation offered to "+agent, `document.querySelector("#agent-reservations button.accept") !== null`)
	p.click("#agent-reservations button.accept")
	p.answered("accept", 200)
	p.waitFor("the conversation in "+agent+"'s hands", `document.querySelector("#agent-conversation").value.startsWith("WT")`)
}

// offered waits for a reservation to be offered and returns the worker it is offered to.
func (p page) offered() string {
	p.t.Helper()
	js := `[...document.querySelectorAll("#workers tr[data-worker]")].filter((r) => r.innerText.includes("offered")).map((r) => r.dataset.worker).join(",")`
	p.waitFor("a reservation offered", js+` !== ""`)
	return eval[string](p, js)
}

// open unfolds one of the agent's action sections.
func (p page) open(form string) {
	p.t.Helper()
	if eval[bool](p, fmt.Sprintf(`document.querySelector("details:has(%s)").open`, form)) {
		return
	}
	p.click(fmt.Sprintf("details:has(%s) summary", form))
}

// TestConsoleAgentTools plays the agent's other tools through the page: close
// with a short description, link the returning customer's past session and
// read the transcript across both, a warm transfer to a queue and its
// cancelation, a park with a snooze time, and a reservation rejected.
func TestConsoleAgentTools(t *testing.T) {
	ctx := browser(t)
	w := startWorld(t)
	p := page{t: t, ctx: ctx}
	p.do("open the console", chromedp.Navigate(w.EmuURL+"/"))
	p.waitFor("the page to read the world", `document.querySelector("#live").textContent === "live"`)
	p.connect()

	// alice closes the first conversation with a short description.
	p.customerWrites("+15551239999", "Where is parcel 42?")
	p.accept("alice")
	first := p.attr("#conversations .conv", "data-conversation")
	p.open("#close-form")
	p.set("#close-description", "Parcel 42 located")
	p.click("#close-send")
	p.answered("close", 200)
	p.waitFor("the first conversation closed", fmt.Sprintf(`document.querySelector('.conv[data-conversation=%q]').dataset.state === "closed"`, first))
	p.waitFor("the record's description", fmt.Sprintf(`(document.querySelector('#records tr[data-record=%q]') || {innerText: ""}).innerText.includes("Parcel 42 located")`, first))

	// The customer writes again: a new conversation, linked to the first by whoever takes it.
	p.customerWrites("+15551239999", "Parcel 42 again, sorry")
	p.waitFor("a second conversation", `document.querySelectorAll("#conversations .conv").length === 2`)
	agent := p.offered()
	p.accept(agent)
	p.open("#link-form")
	p.waitFor("the past session offered", `document.querySelector("#link-source").value.startsWith("WT")`)
	p.click("#link-send")
	p.answered("link past session", 200)
	p.click("#transcript-load")
	p.answered("transcript", 200)
	transcript := p.text("#answers li")
	require.Contains(t, transcript, "Where is parcel 42?", "the past session is in the transcript")
	require.Contains(t, transcript, "Parcel 42 again, sorry")

	// A warm transfer to a queue, then withdrawn before anyone accepts.
	queue := "Sales"
	if agent == "carol" {
		queue = "Support"
	}
	p.open("#transfer-form")
	p.set("#transfer-target", eval[string](p, fmt.Sprintf(`[...document.querySelectorAll("#transfer-target option")].find((o) => o.textContent === %q).value`, queue+" (queue)")))
	p.set("#transfer-mode", "warm")
	p.click("#transfer-send")
	p.answered("transfer warm", 200)
	target := p.offered()
	require.NotEqual(t, agent, target, "a transfer is never offered to the transferring agent")
	p.click("#transfer-cancel")
	p.answered("cancel warm transfer", 200)
	p.waitFor("the transfer withdrawn", fmt.Sprintf(`!document.querySelector('#workers tr[data-worker=%q]').innerText.includes("offered")`, target))

	// Park with a snooze time: the page sends unparkAt and shows the answer, whatever it is.
	p.open("#park-form")
	p.set("#park-until", "2030-01-01T09:00")
	p.click("#park-send")
	p.waitFor("the park's answer", `document.querySelector("#answers li").dataset.what === "park"`)
	require.NotEqual(t, "0", p.attr("#answers li", "data-status"), "flexhooks answered the park")
	t.Logf("park with unparkAt answered %s", p.attr("#answers li", "data-status"))

	// A reservation rejected goes to someone else.
	p.customerWrites("+15551238888", "Hello?")
	first = p.offered()
	p.set("#agent-select", first)
	p.waitFor("the reservation in "+first+"'s list", `document.querySelector("#agent-reservations button.secondary") !== null`)
	p.click("#agent-reservations button.secondary")
	p.answered("reject", 200)
	p.waitFor("the task offered to another", fmt.Sprintf(`(() => { const o = [...document.querySelectorAll("#workers tr[data-worker]")].filter((r) => r.innerText.includes("offered")).map((r) => r.dataset.worker); return o.length === 1 && o[0] !== %q; })()`, first))

	// The page redraws the world as it changes, and a keyboard user keeps their place.
	key := eval[string](p, `(() => { const d = document.querySelector("#tasks details[data-key]"); d.querySelector("summary").focus(); return d.dataset.key; })()`)
	tasks := eval[int](p, `document.querySelectorAll("#tasks tr[data-task]").length`)
	w.Inbound("+15551237777", "chat", "Anyone there?")
	p.waitFor("the new task drawn", fmt.Sprintf(`document.querySelectorAll("#tasks tr[data-task]").length > %d`, tasks))
	require.Equal(t, key, eval[string](p, `(document.activeElement.closest("details[data-key]") || {dataset: {}}).dataset.key || ""`),
		"the focus stays on the same task's attributes")
}
