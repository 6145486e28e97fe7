// dom.js: building DOM without a framework, and the formats the page shows.

/** h("td", {class: "num"}, "3") — children may be strings, nodes, arrays or null. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

/** A SID shortened for the eye, whole in its title and data-sid. */
export function sid(s) {
  if (!s) return h("span", { class: "muted" }, "—");
  const short = s.length > 16 ? `${s.slice(0, 8)}…${s.slice(-4)}` : s;
  return h("code", { title: s, dataset: { sid: s } }, short);
}

const pillClasses = {
  active: "ok", available: "ok", accepted: "ok", assigned: "ok", completed: "off", closed: "off",
  pending: "warn", reserved: "warn", wrapping: "warn", inactive: "warn", parked: "warn", paused: "warn",
  rejected: "bad", canceled: "bad", timeout: "bad", rescinded: "off", offline: "off", unavailable: "off",
};

export function pill(text, kind) {
  const t = String(text).toLowerCase();
  const k = kind ?? pillClasses[t] ?? pillClasses[t.split(/\s+/)[0]] ?? "";
  return h("span", { class: `pill ${k}` }, text);
}

/** A table from headers and rows of cells; an empty note when no rows. */
export function table(label, headers, rows, empty) {
  if (!rows.length) return h("p", { class: "empty" }, empty);
  return h("table", { "aria-label": label },
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, rows));
}

export function time(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toISOString().slice(11, 19);
}

/** "in 4m 10s" or "2m ago", against the virtual clock. */
export function relative(iso, now) {
  if (!iso) return "";
  const s = Math.round((new Date(iso) - now) / 1000);
  const abs = duration(Math.abs(s));
  return s >= 0 ? `in ${abs}` : `${abs} ago`;
}

export function duration(seconds) {
  if (seconds === undefined || seconds === null) return "—";
  let s = Math.round(seconds);
  const d = Math.floor(s / 86400); s -= d * 86400;
  const hh = Math.floor(s / 3600); s -= hh * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  const parts = [];
  if (d) parts.push(`${d}d`);
  if (hh) parts.push(`${hh}h`);
  if (m) parts.push(`${m}m`);
  if (s || !parts.length) parts.push(`${s}s`);
  return parts.slice(0, 2).join(" ");
}

export function json(v) {
  if (typeof v === "string") {
    try { v = JSON.parse(v); } catch { return v; }
  }
  return JSON.stringify(v, null, 2);
}

/**
 * Replaces el's children, keeping which <details data-key> were open and,
 * when the keyboard focus was on one's summary, the focus.
 */
export function replace(el, ...children) {
  const open = new Set([...el.querySelectorAll("details[data-key][open]")].map((d) => d.dataset.key));
  const closed = new Set([...el.querySelectorAll("details[data-key]:not([open])")].map((d) => d.dataset.key));
  const active = document.activeElement;
  const focused = active && el.contains(active) && active.closest("details[data-key]");
  el.replaceChildren(...children.flat().filter(Boolean));
  for (const d of el.querySelectorAll("details[data-key]")) {
    if (open.has(d.dataset.key)) d.open = true;
    else if (closed.has(d.dataset.key)) d.open = false;
    if (focused && d.dataset.key === focused.dataset.key) d.querySelector("summary").focus({ preventScroll: true });
  }
}

/** Sets a select's options, keeping the chosen value when it is still offered. */
export function options(select, items, emptyLabel) {
  const want = JSON.stringify(items);
  if (select.dataset.items === want) return;
  const keep = select.value;
  select.dataset.items = want;
  select.replaceChildren(...(items.length ? items : [{ value: "", label: emptyLabel }])
    .map((o) => h("option", { value: o.value }, o.label)));
  if (items.some((o) => o.value === keep)) select.value = keep;
}

/**
 * Rebuilds el's children only when key (any JSON-able value) changed, so that
 * a control that keeps its meaning keeps its node — and the keyboard focus.
 */
export function rebuild(el, key, build) {
  const k = JSON.stringify(key);
  if (el.dataset.key === k) return;
  el.dataset.key = k;
  el.replaceChildren(...build());
}
