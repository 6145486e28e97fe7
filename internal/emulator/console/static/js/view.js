// view.js: the world panels, rebuilt from the state on every change.
import { h, sid, pill, table, time, relative, duration, json, replace } from "./dom.js";
import { PARKED_MAP, RECORDS_MAP } from "./model.js";

const $ = (id) => document.getElementById(id);

export function renderWorld(world, extra) {
  replace($("workers"), workers(world));
  replace($("conversations"), conversations(world));
  replace($("tasks"), tasks(world));
  replace($("parked"), parked(world));
  replace($("sync"), syncUsage(world));
  replace($("records"), records(world, extra.records));
  replace($("webhooks"), webhooks(extra.webhooks || []));
  replace($("faults"), faults(extra.faults || []));
}

function workers(world) {
  const rows = world.workers.map((w) => {
    const tasks = world.tasksOf(w.sid);
    const pending = world.pendingReservations(w.sid);
    const load = (w.channels || []).filter((c) => c.assignedTasks > 0)
      .map((c) => `${c.taskChannel} ${c.assignedTasks}/${c.capacity}`).join(", ");
    return h("tr", { dataset: { worker: w.friendlyName } },
      h("td", {}, h("strong", {}, w.friendlyName), h("br"), h("span", { class: "muted" }, (w.attributes || {}).full_name || "")),
      h("td", {}, pill(w.activity, w.available ? "ok" : "off")),
      h("td", {}, load || h("span", { class: "muted" }, "idle")),
      h("td", {}, tasks.length ? tasks.map((t) => h("div", {}, sid(t.sid), " ", pill(t.assignmentStatus), " ", sid((t.attributes || {}).conversationSid)))
        : h("span", { class: "muted" }, "none")),
      h("td", {}, pending.length ? pending.map((r) => h("div", {}, pill("offered", "warn"), " ", sid(r.taskSid))) : h("span", { class: "muted" }, "none")));
  });
  return table("Workers", ["worker", "activity", "load", "tasks", "reservations"], rows, "No workers in the workspace.");
}

function conversations(world) {
  if (!world.conversations.length) return h("p", { class: "empty" }, "No conversations yet: write as the customer.");
  const list = [...world.conversations].sort((a, b) => (b.dateCreated || "").localeCompare(a.dateCreated || "") || b.sid.localeCompare(a.sid));
  return list.map((c) => conversationCard(world, c));
}

function conversationCard(world, c) {
  const ch = world.channel(c.sid);
  const attrs = parse(c.attributes);
  const parkedBy = attrs.flexhooksPark; // flexhooks' park record (webhooks/parkstate.go)
  const timers = c.timers || {};
  const people = (c.participants || []).map((p) => p.identity || p.address || p.sid);
  const msgs = c.messages || [];
  return h("section", { class: "conv", "aria-label": `Conversation ${c.sid}`, dataset: { conversation: c.sid, state: c.state } },
    h("header", {},
      h("strong", { title: c.sid }, c.sid),
      pill(c.state),
      ch ? pill(ch.type, "") : null,
      parkedBy ? pill("parked", "warn") : null,
      h("span", {}, world.customer(c))),
    h("div", { class: "facts" },
      h("span", {}, "participants: ", people.join(", ") || "none"),
      timers.dateInactive ? h("span", { class: "timer" }, `inactive ${relative(timers.dateInactive, world.now)} (${time(timers.dateInactive)})`) : null,
      timers.dateClosed ? h("span", { class: "timer" }, `closes ${relative(timers.dateClosed, world.now)} (${time(timers.dateClosed)})`) : null,
      h("span", {}, `webhooks: ${(c.webhooks || []).length}`)),
    h("ol", { class: "msgs", "aria-label": "Messages" }, msgs.slice(-30).map((m) => {
      const who = m.author || "system";
      const kind = world.isAgent(who) ? "agent" : (m.author ? "" : "system");
      return h("li", { class: kind }, h("span", { class: "who" }, `${who} · ${time(m.dateCreated)}`), m.body || "");
    })),
    h("details", { dataset: { key: `attrs-${c.sid}` } }, h("summary", {}, "Attributes, participants and webhooks"),
      h("pre", {}, json({ attributes: attrs, participants: c.participants, webhooks: c.webhooks, interactionChannel: ch }))));
}

function tasks(world) {
  const list = [...world.tasks].sort((a, b) => (b.dateCreated || "").localeCompare(a.dateCreated || "") || b.sid.localeCompare(a.sid));
  const rows = list.map((t) => {
    const a = t.attributes || {};
    return h("tr", { dataset: { task: t.sid, status: t.assignmentStatus } },
      h("td", {}, sid(t.sid)),
      h("td", {}, pill(t.assignmentStatus)),
      h("td", {}, t.taskChannel),
      h("td", {}, t.queue || "—", h("br"), h("span", { class: "muted" }, t.workflow || "")),
      h("td", {}, t.worker || "—"),
      h("td", {}, sid(a.conversationSid)),
      h("td", {}, world.reservationsOf(t.sid).map((r) => h("div", {}, `${r.worker || world.workerName(r.workerSid)} `, pill(r.status)))),
      h("td", {}, h("details", { dataset: { key: `task-${t.sid}` } }, h("summary", {}, "attributes"), h("pre", {}, json(a)))));
  });
  return table("Tasks", ["task", "status", "channel", "queue", "worker", "conversation", "reservations", ""], rows, "No tasks yet.");
}

function parked(world) {
  const out = world.workers.map((w) => {
    const items = world.parked(w.sid);
    return h("div", { dataset: { parkedFor: w.friendlyName } },
      h("h3", {}, `${w.friendlyName} (${items.length})`),
      items.length ? h("ul", { class: "list" }, items.map((it) => {
        const d = parse(it.data);
        return h("li", {}, sid(it.key), pill(d.channelType || "?", ""),
          h("span", { class: "muted" }, it.dateExpires ? `expires ${relative(it.dateExpires, world.now)}` : "no expiry"));
      })) : h("p", { class: "empty" }, "nothing parked"));
  });
  out.push(h("p", { class: "muted" }, `Read from the Sync maps ${PARKED_MAP}{workerSid}, as the park-interaction plugin reads them (PARKED_LIST=true).`));
  return out;
}

// Twilio's documented Sync limits (DESIGN.md): 20 writes/s and 20 reads/s per
// Map, Document or List.
const SYNC_LIMIT_PER_SECOND = 20;

/**
 * Sync usage: the per-object usage the control API reports when it has it
 * (rendered field by field, whatever its shape), else the item count of
 * every map, which the state always has.
 */
function syncUsage(world) {
  const sync = world.state.sync || {};
  const out = [];
  const usage = sync.usage || sync.rates || null;
  if (world.syncUsage && Array.isArray(world.syncUsage.objects)) out.push(...limitsTable(world.syncUsage));
  else if (usage) out.push(usageTable(usage));
  const rows = world.maps().map((m) => {
    const mu = m.usage || m.rates || null;
    return h("tr", { dataset: { map: m.uniqueName || m.sid } },
      h("td", {}, m.uniqueName || sid(m.sid)),
      h("td", { class: "num" }, (m.items || []).length),
      h("td", {}, mu ? usageCells(mu) : h("span", { class: "muted" }, "—")));
  });
  out.push(table("Sync maps", ["map", "items", "usage"], rows, "No Sync maps yet."));
  if (!world.syncUsage && !usage && !world.maps().some((m) => m.usage || m.rates)) {
    out.push(h("p", { class: "muted" }, `This emulator reports no Sync rates; Twilio allows ${SYNC_LIMIT_PER_SECOND} reads/s and ${SYNC_LIMIT_PER_SECOND} writes/s per map.`));
  }
  return out;
}

/**
 * GET /emulator/sync/usage: each Sync object's reads and writes in the last
 * second and the last 10 s against Twilio's limits (20/s, 200 in any 10 s),
 * and the calls it throttled (429, 54009).
 */
function limitsTable(u) {
  const rate = (v, limit) => h("td", { class: "num" }, String(v), " ", meter(v, limit));
  const rows = u.objects.map((o) => h("tr", { dataset: { syncObject: o.uniqueName || o.sid } },
    h("td", {}, o.uniqueName || sid(o.sid)),
    rate(o.readsPerSecond, SYNC_LIMIT_PER_SECOND), rate(o.writesPerSecond, SYNC_LIMIT_PER_SECOND),
    rate(o.reads10s, 10 * SYNC_LIMIT_PER_SECOND), rate(o.writes10s, 10 * SYNC_LIMIT_PER_SECOND),
    h("td", { class: o.throttledReads + o.throttledWrites > 0 ? "num bad" : "num" }, String(o.throttledReads + o.throttledWrites))));
  const caption = u.enabled ? `Twilio's limits, enforced: ${u.limit}.` : "Sync limits are switched off on this emulator.";
  return [h("p", { class: "muted" }, caption),
    table("Sync usage", ["object", "reads/s", "writes/s", "reads, 10 s", "writes, 10 s", "throttled"], rows, "No Sync traffic yet.")];
}

function usageTable(usage) {
  const entries = Array.isArray(usage) ? usage.map((u, i) => [u.object || u.name || u.uniqueName || u.sid || String(i), u]) : Object.entries(usage);
  const rows = entries.map(([k, v]) => h("tr", {}, h("td", {}, k), h("td", {}, typeof v === "object" && v ? usageCells(v) : String(v))));
  return table("Sync usage", ["object", "usage"], rows, "No Sync traffic yet.");
}

/** Scalar fields of a usage object; a number with a matching …Limit field gets a meter. */
function usageCells(u) {
  if (typeof u !== "object" || u === null) return String(u);
  return Object.entries(u).filter(([k, v]) => typeof v !== "object" && !/limit$/i.test(k)).map(([k, v]) => {
    const limit = u[`${k}Limit`] ?? u[`${k}_limit`] ?? (/(reads|writes)/i.test(k) && typeof v === "number" ? SYNC_LIMIT_PER_SECOND : undefined);
    const m = typeof v === "number" && limit ? meter(v, limit) : null;
    return h("div", {}, h("span", { class: "muted" }, `${k}: `), String(v), limit ? ` / ${limit} ` : " ", m);
  });
}

function meter(v, limit) {
  const r = Math.min(1, v / limit);
  return h("span", { class: "meter", role: "img", "aria-label": `${Math.round(r * 100)}% of the limit` },
    h("span", { class: r >= 1 ? "bad" : r >= 0.75 ? "warn" : "", style: `width:${Math.round(r * 100)}%` }));
}

function records(world, recs) {
  if (!recs || recs.off) {
    const note = recs && recs.off ? recs.off : "Interaction records appear here once a conversation has one.";
    const items = world.maps().find((m) => m.uniqueName === RECORDS_MAP);
    return [h("p", { class: "empty" }, note),
      items ? h("p", { class: "muted" }, `${(items.items || []).length} items in Sync map ${RECORDS_MAP}.`) : null];
  }
  const rows = world.conversations.map((c) => {
    const r = recs.byConversation[c.sid];
    if (!r) return null;
    if (r.error) return h("tr", {}, h("td", {}, sid(c.sid)), h("td", { colspan: 6, class: "muted" }, r.error));
    const who = r.assignedTo ? r.assignedTo.workerName || r.assignedTo.name || r.assignedTo.workerSid || "" : "";
    return h("tr", { dataset: { record: c.sid, state: r.state } },
      h("td", {}, h("strong", {}, r.number || "—"), h("br"), sid(c.sid)),
      h("td", {}, pill(r.state || "?"), r.stateReason ? h("div", { class: "muted" }, r.stateReason) : null),
      h("td", {}, who || "—"),
      h("td", { class: "num" }, r.waitTimeSeconds === undefined ? "—" : duration(r.waitTimeSeconds)),
      h("td", { class: "num" }, duration(r.durationSeconds)),
      h("td", {}, r.shortDescription || (r.needsDescription ? h("span", { class: "pill warn" }, "needs a description") : "—")),
      h("td", {}, (r.relatedTasks || []).length));
  }).filter(Boolean);
  return table("Interaction records", ["number", "state", "assigned to", "wait", "duration", "description", "contacts"], rows,
    "No records yet.");
}

function webhooks(list) {
  const rows = [...list].reverse().slice(0, 40).map((d) => h("tr", {},
    h("td", {}, time(d.started)),
    h("td", {}, d.source),
    h("td", {}, d.eventType || "—"),
    h("td", { class: "mono" }, pathOf(d.url)),
    h("td", { class: "num" }, d.attempts),
    h("td", {}, pill(d.status ? String(d.status) : "no answer", d.status >= 200 && d.status < 300 ? "ok" : d.status >= 400 || !d.status ? "bad" : "warn"),
      d.error ? h("div", { class: "muted" }, d.error) : null)));
  return table("Webhook deliveries", ["sent", "source", "event", "to", "attempts", "answer"], rows,
    "No webhooks delivered yet (flexhooks setup points Twilio's callbacks at the service).");
}

function faults(list) {
  const rows = list.map((f) => h("tr", {},
    h("td", {}, f.host || "any host"), h("td", {}, f.method || "any"), h("td", { class: "mono" }, f.path || ".*"),
    h("td", {}, f.status ? `${f.status}${f.code ? ` (${f.code})` : ""}` : "—"),
    h("td", {}, [f.latencyMs ? `+${f.latencyMs} ms` : "", f.rate ? `rate ${f.rate}` : "", f.times ? `${f.times}×` : "", f.after ? "after the work" : ""].filter(Boolean).join(", ") || "—")));
  return table("Faults", ["host", "method", "path", "answer", "how"], rows, "No faults: Twilio behaves.");
}

function pathOf(u) {
  try { return new URL(u).pathname; } catch { return u; }
}

function parse(v) {
  if (v && typeof v === "object") return v;
  try { return JSON.parse(v || "{}") || {}; } catch { return {}; }
}
