// main.js: the console's loop and its controls. The page reads the world
// from the emulator every second, plays the customer through the control
// API, and plays agents through flexhooks' own endpoints with their Flex
// tokens — as a Flex plugin would — showing every answer, errors included.
import { control, twilio, service, Tokens } from "./api.js";
import { h, sid, pill, options, time, rebuild } from "./dom.js";
import { World } from "./model.js";
import { renderWorld } from "./view.js";

const $ = (id) => document.getElementById(id);
const POLL_MS = 1000;
const SERVICE_KEY = "flexhooks.console.serviceUrl";

const app = {
  world: null,       // the last World read
  stateText: "",     // its JSON but the clock, to skip renders when nothing changed
  renderedAt: 0,     // when the world was last drawn (ms): relative times age
  extra: { webhooks: [], faults: [], records: null },
  serviceUrl: "",
  tokens: new Tokens(),
  polling: false,
  recordsAt: 0,      // when records were last read (ms)
  recordsDirty: true, // the world changed since
};

// ---- the loop -------------------------------------------------------------

async function poll() {
  if (app.polling) return;
  app.polling = true;
  try {
    const [st, wh, fl, su] = await Promise.all([
      control("GET", "/emulator/state"), control("GET", "/emulator/webhooks"), control("GET", "/emulator/faults"),
      control("GET", "/emulator/sync/usage"),
    ]);
    if (!st.ok) throw new Error(`state: ${st.status}`);
    setLive(true);
    // The clock alone moving (under make run it follows real time) redraws
    // only the clock, and the rest every 15 s for "in 4m" to age: a redraw
    // of the world every second would take a keyboard user's place.
    const text = JSON.stringify([{ ...st.body, now: "" }, wh.body, fl.body, su.body]);
    setClock(st.body.now);
    if (text !== app.stateText || Date.now() - app.renderedAt > 15_000) {
      app.stateText = text;
      app.renderedAt = Date.now();
      app.world = new World(st.body);
      app.world.syncUsage = su.ok ? su.body : null; // per-object rates against Twilio's limits
      app.extra.webhooks = (wh.body && wh.body.webhooks) || [];
      app.extra.faults = (fl.body && fl.body.faults) || [];
      app.recordsDirty = true;
      render();
    }
    refreshRecords();
  } catch (err) {
    setLive(false, err);
  } finally {
    app.polling = false;
  }
}

function setClock(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return;
  $("clock").textContent = d.toISOString().replace("T", " ").slice(0, 19) + " UTC";
  $("clock").dateTime = iso;
}

function render() {
  const w = app.world;
  if (!w) return;
  renderWorld(w, app.extra);
  renderAgent();
  renderCallbacks(w);
}

function setLive(ok, err) {
  const el = $("live");
  el.textContent = ok ? "live" : "emulator unreachable";
  el.className = `pill ${ok ? "ok" : "bad"}`;
  el.title = ok ? "The page reads the emulator's state every second" : String(err);
}

/**
 * Records come from flexhooks (GET /interactions/{sid}) with a supervisor
 * token: a second after the world changed, and every 10 s for the
 * durations that grow with the clock.
 */
async function refreshRecords() {
  const w = app.world;
  const since = Date.now() - app.recordsAt;
  if (!w || !app.serviceUrl || !w.workers.length || since < 1000 || (!app.recordsDirty && since < 10_000)) return;
  app.recordsAt = Date.now();
  app.recordsDirty = false;
  let tok;
  try { tok = await app.tokens.get(w.workers[0].friendlyName, true, w.now); } catch { return; }
  const convs = w.conversations.slice(-20);
  const answers = await Promise.all(convs.map((c) =>
    service(app.serviceUrl, "GET", `/interactions/${c.sid}`, tok.token)));
  const byConversation = {};
  let any = false;
  let unreachable = "";
  answers.forEach((a, i) => {
    if (a.ok) { byConversation[convs[i].sid] = a.body; any = true; }
    else if (a.status === 0) unreachable = a.body.error;
  });
  if (unreachable) app.extra.records = { off: `flexhooks unreachable at ${app.serviceUrl}: ${unreachable}` };
  else if (!any && convs.length) {
    const first = answers[0].body && answers[0].body.error;
    app.extra.records = { off: `No record from flexhooks (${answers[0].status}${first ? `: ${first.message || first}` : ""}). Records need INTERACTION_RECORDS=true and flexhooks setup.` };
  } else app.extra.records = { byConversation };
  renderWorld(w, app.extra);
}

// ---- the service's address -------------------------------------------------

async function initServiceUrl() {
  const fromQuery = new URLSearchParams(location.search).get("service");
  let url = fromQuery || localStorage.getItem(SERVICE_KEY) || "";
  if (!url) {
    const cfg = await control("GET", "/emulator/console/config");
    url = (cfg.ok && cfg.body.serviceUrl) || "";
  }
  setServiceUrl(url, Boolean(fromQuery));
}

function setServiceUrl(url, remember) {
  app.serviceUrl = url.replace(/\/+$/, "");
  $("service-url").value = app.serviceUrl;
  if (remember && app.serviceUrl) localStorage.setItem(SERVICE_KEY, app.serviceUrl);
  checkService();
}

async function checkService() {
  const el = $("service-status");
  if (!app.serviceUrl) { el.textContent = "not set"; el.className = "pill bad"; return; }
  try {
    const r = await fetch(`${app.serviceUrl}/healthz`);
    el.textContent = r.ok ? "reachable" : `answers ${r.status}`;
    el.className = `pill ${r.ok ? "ok" : "warn"}`;
  } catch {
    el.textContent = "unreachable (down, or CORS refuses this origin)";
    el.className = "pill bad";
  }
}

// ---- answers -----------------------------------------------------------------

function showAnswer(what, a) {
  const list = $("answers");
  const body = a.body && Array.isArray(a.body.messages) ? transcript(a.body) : h("pre", {}, JSON.stringify(a.body, null, 2));
  const li = h("li", { class: a.ok ? "" : "bad", dataset: { what, status: a.status } },
    h("span", { class: "what" }, what), " ",
    pill(a.status ? String(a.status) : "no answer", a.ok ? "ok" : "bad"),
    body);
  list.prepend(li);
  while (list.children.length > 20) list.lastChild.remove();
}

function transcript(body) {
  return h("ol", { class: "msgs", "aria-label": "Transcript" }, body.messages.map((m) =>
    h("li", { class: app.world && app.world.isAgent(m.author) ? "agent" : "" },
      h("span", { class: "who" }, `${m.author} · ${time(m.dateCreated)} · ${m.conversationSid.slice(0, 8)}…`), m.body)));
}

/** Runs an action with its button disabled, shows the answer, then reads the world again. */
async function act(button, what, fn) {
  if (button) button.disabled = true;
  try {
    showAnswer(what, await fn());
  } catch (err) {
    showAnswer(what, { status: 0, ok: false, body: { error: String(err.message || err) } });
  } finally {
    if (button) button.disabled = false;
    app.stateText = "";
    await poll();
  }
}

// ---- the agent ----------------------------------------------------------------

function agent() { return app.world && app.world.worker($("agent-select").value); }

function currentTask() {
  const w = app.world;
  return w && w.task($("agent-conversation").value);
}

async function agentToken() {
  const me = agent();
  if (!me) throw new Error("choose an agent first");
  return (await app.tokens.get(me.friendlyName, $("agent-supervisor").checked, app.world.now)).token;
}

function renderAgent() {
  const w = app.world;
  options($("agent-select"), w.workers.map((x) => ({ value: x.friendlyName, label: `${x.friendlyName} — ${(x.attributes || {}).full_name || ""}` })), "no workers");
  const me = agent();
  if (!me) return;
  const tasks = w.tasksOf(me.sid).filter((t) => t.assignmentStatus === "assigned" || t.assignmentStatus === "wrapping");
  $("agent-summary").textContent = `${me.activity}; ${tasks.length} conversation(s) in hand.`;
  options($("agent-activity"), (w.ws.activities || []).map((a) => ({ value: a.sid, label: a.friendlyName })), "no activities");
  if (document.activeElement !== $("agent-activity")) $("agent-activity").value = me.activitySid;

  const offered = w.pendingReservations(me.sid);
  rebuild($("agent-reservations"), [me.sid, offered.map((r) => r.sid)], () => (offered.length ? offered.map((r) => {
    const t = w.task(r.taskSid) || { attributes: {} };
    return h("li", { dataset: { reservation: r.sid } },
      h("span", { class: "grow" }, pill(t.taskChannel || "task", ""), " ", (t.attributes || {}).customerAddress || "", " ", sid(r.taskSid)),
      h("button", { type: "button", class: "accept", onclick: (e) => answerReservation(e.currentTarget, r, "accepted") }, "Accept"),
      h("button", { type: "button", class: "secondary", onclick: (e) => answerReservation(e.currentTarget, r, "rejected") }, "Reject"));
  }) : [h("li", { class: "empty" }, "nothing offered")]));

  options($("agent-conversation"), tasks.map((t) => {
    const a = t.attributes || {};
    return { value: t.sid, label: `${a.customerAddress || "?"} · ${t.taskChannel} · ${t.assignmentStatus} · ${(a.conversationSid || "").slice(0, 10)}…` };
  }), "no conversation in hand");

  const targets = [
    ...w.workers.filter((x) => x.sid !== me.sid).map((x) => ({ value: x.sid, label: `${x.friendlyName} (agent)` })),
    ...w.queues.map((q) => ({ value: q.sid, label: `${q.friendlyName} (queue)` })),
  ];
  options($("transfer-target"), targets, "no target");

  const t = currentTask();
  const past = t ? w.pastSessions((t.attributes || {}).conversationSid) : [];
  options($("link-source"), past.map((p) => ({ value: p.sid, label: `${p.sid.slice(0, 10)}… · ${p.assignmentStatus} · ${time(p.dateCreated)}` })), "no past session");

  const parked = w.resumable(me.sid);
  rebuild($("agent-parked"), [me.sid, parked.map((p) => [p.conversationSid, p.webhookSid, p.listed])], () => (parked.length ? parked.map((p) =>
    h("li", { dataset: { parked: p.conversationSid } },
      h("span", { class: "grow" }, pill(p.channelType || "?", ""), " ", sid(p.conversationSid),
        p.listed ? null : h("span", { class: "muted" }, " (from its attributes)")),
      h("button", { type: "button", class: "resume", onclick: (e) => resume(e.currentTarget, p) }, "Resume")))
    : [h("li", { class: "empty" }, "nothing parked")]));
}

function answerReservation(button, r, status) {
  const ws = app.world.ws.sid;
  return act(button, `${status === "accepted" ? "accept" : "reject"} ${r.sid.slice(0, 8)}… (TaskRouter)`, () =>
    twilio("taskrouter", `/v1/Workspaces/${ws}/Tasks/${r.taskSid}/Reservations/${r.sid}`, { ReservationStatus: status }));
}

function changeActivity(e) {
  const me = agent();
  const select = e.currentTarget;
  const name = select.selectedOptions[0] ? select.selectedOptions[0].textContent : "";
  return act(null, `${me.friendlyName} ${name} (TaskRouter)`, () =>
    twilio("taskrouter", `/v1/Workspaces/${app.world.ws.sid}/Workers/${me.sid}`, { ActivitySid: select.value }));
}

function needTask() {
  const t = currentTask();
  if (!t) throw new Error("no conversation in hand: accept a reservation first");
  return t;
}

async function reply(e) {
  e.preventDefault();
  await act(e.submitter, "reply (Conversations)", async () => {
    const t = needTask();
    const me = agent();
    const identity = (me.attributes.contact_uri || "").replace(/^client:/, "") || me.friendlyName;
    return twilio("conversations", `/v1/Conversations/${t.attributes.conversationSid}/Messages`,
      { Author: identity, Body: $("reply-body").value },
      // As the Flex UI's Conversations SDK does, the message fires webhooks.
      { "X-Twilio-Webhook-Enabled": "true" });
  });
}

async function park(e) {
  e.preventDefault();
  await act(e.submitter, "park", async () => {
    const t = needTask();
    const body = app.world.parkRequest(t, agent().sid);
    const until = $("park-until").value;
    if (until) body.unparkAt = new Date(until).toISOString();
    return service(app.serviceUrl, "POST", "/park-interaction", await agentToken(), body);
  });
}

function resume(button, p) {
  return act(button, "resume (unpark)", async () =>
    service(app.serviceUrl, "POST", "/unpark-interaction", await agentToken(),
      { ConversationSid: p.conversationSid, WebhookSid: p.webhookSid || "", RouteToSameWorker: true }));
}

/**
 * Points Twilio's callbacks at flexhooks — the workspace's event callback and
 * the Conversations service's webhook — as `flexhooks setup` does, so that
 * timers, warm transfers and records work under `make run` too.
 */
async function connectCallbacks(e) {
  const w = app.world;
  const chat = w.state.seeded && w.state.seeded.chatServiceSid;
  await act(e.currentTarget, "connect callbacks", async () => {
    if (!app.serviceUrl) throw new Error("flexhooks' address is not set");
    const a = await twilio("taskrouter", `/v1/Workspaces/${w.ws.sid}`, { EventCallbackUrl: `${app.serviceUrl}/webhooks/reservation-accepted` });
    if (!a.ok) return a;
    return twilio("conversations", `/v1/Services/${chat}/Configuration/Webhooks`, [
      ["PostWebhookUrl", `${app.serviceUrl}/webhooks/conversation-state-updated`], ["Method", "POST"],
      ["Filters", "onConversationStateUpdated"], ["Filters", "onMessageAdded"]]);
  });
}

function renderCallbacks(w) {
  const url = w.ws.eventCallbackUrl || "";
  const svc = ((w.state.conversations || {}).services || []).find((s) => s.sid === (w.state.seeded || {}).chatServiceSid);
  const post = (svc && svc.webhooks && svc.webhooks.postWebhookUrl) || "";
  const to = (u) => Boolean(app.serviceUrl) && u.startsWith(app.serviceUrl);
  const ok = to(url) && to(post);
  const el = $("callbacks-status");
  el.textContent = ok ? "connected" : url || post ? `elsewhere: ${url || post}` : "not connected";
  el.className = `pill ${ok ? "ok" : "warn"}`;
}

async function transfer(e) {
  e.preventDefault();
  await act(e.submitter, `transfer ${$("transfer-mode").value}`, async () => {
    const t = needTask();
    return service(app.serviceUrl, "POST", "/transfer", await agentToken(), {
      conversationSid: t.attributes.conversationSid, taskSid: t.sid, taskAttributes: t.attributes, taskChannelUniqueName: t.taskChannel,
      transferTargetSid: $("transfer-target").value, mode: $("transfer-mode").value,
      removeTransferringAgent: $("transfer-mode").value === "warm" && $("transfer-remove").checked,
    });
  });
}

async function cancelTransfer(e) {
  await act(e.currentTarget, "cancel warm transfer", async () => {
    const t = needTask();
    return service(app.serviceUrl, "POST", "/transfer/cancel", await agentToken(), { conversationSid: t.attributes.conversationSid });
  });
}

async function closeInteraction(e) {
  e.preventDefault();
  await act(e.submitter, "close", async () => {
    const t = needTask();
    return service(app.serviceUrl, "POST", `/interactions/${t.attributes.conversationSid}/close`, await agentToken(),
      { shortDescription: $("close-description").value });
  });
}

async function readTranscript(e) {
  await act(e.currentTarget, "transcript", async () => {
    const t = needTask();
    return service(app.serviceUrl, "GET", `/conversations/${t.attributes.conversationSid}/transcript`, await agentToken());
  });
}

async function linkPast(e) {
  e.preventDefault();
  await act(e.submitter, "link past session", async () => {
    const t = needTask();
    return service(app.serviceUrl, "POST", "/persistent-chat", await agentToken(), {
      conversationSid: t.attributes.conversationSid, sourceContactId: $("link-source").value,
      rehydrationType: $("link-type").value,
    });
  });
}

// ---- customer, clock, faults ------------------------------------------------------

async function customerWrites(e) {
  e.preventDefault();
  const f = new FormData(e.target);
  await act(e.submitter, `customer ${f.get("from")} writes`, () =>
    control("POST", "/emulator/inbound", { channel: f.get("channel"), from: f.get("from"), to: f.get("to"), body: f.get("body") }));
}

function advance(button, iso) {
  return act(button, `clock +${iso}`, () => control("POST", "/emulator/clock", { advance: iso }));
}

async function injectFaults(e) {
  e.preventDefault();
  let rules;
  try { rules = JSON.parse($("faults-json").value); } catch (err) {
    showAnswer("inject faults", { status: 0, ok: false, body: { error: `not JSON: ${err.message}` } });
    return;
  }
  await act(e.submitter, "inject faults", () => control("PUT", "/emulator/faults", rules));
}

// ---- wiring -----------------------------------------------------------------------

function wire() {
  $("service-form").addEventListener("submit", (e) => { e.preventDefault(); setServiceUrl($("service-url").value, true); app.recordsDirty = true; });
  $("customer-form").addEventListener("submit", customerWrites);
  $("agent-select").addEventListener("change", renderAgent);
  $("agent-conversation").addEventListener("change", renderAgent);
  $("agent-activity").addEventListener("change", changeActivity);
  $("reply-form").addEventListener("submit", reply);
  $("park-form").addEventListener("submit", park);
  $("transfer-form").addEventListener("submit", transfer);
  $("transfer-cancel").addEventListener("click", cancelTransfer);
  $("close-form").addEventListener("submit", closeInteraction);
  $("transcript-load").addEventListener("click", readTranscript);
  $("link-form").addEventListener("submit", linkPast);
  $("clock-form").addEventListener("submit", (e) => { e.preventDefault(); advance(e.submitter, $("clock-advance").value); });
  for (const b of document.querySelectorAll("[data-advance]")) b.addEventListener("click", () => advance(b, b.dataset.advance));
  $("faults-form").addEventListener("submit", injectFaults);
  $("callbacks-connect").addEventListener("click", connectCallbacks);
  $("faults-clear").addEventListener("click", (e) => act(e.currentTarget, "clear faults", () => control("DELETE", "/emulator/faults")));
}

async function main() {
  wire();
  await initServiceUrl();
  await poll();
  setInterval(() => { if (!document.hidden) poll(); }, POLL_MS);
}

main();
