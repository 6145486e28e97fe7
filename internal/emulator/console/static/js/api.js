// api.js: the page's three correspondents — the emulator's control API (same
// origin), Twilio's REST API on the emulator (through the console's relay,
// since a browser may not set the Host header) and flexhooks itself, called
// with a worker's Flex token exactly as a Flex plugin calls it.

/** An answer from any of them: status, parsed body (or text), ok. */
async function answer(resp) {
  const text = await resp.text();
  let body = text;
  try { body = text ? JSON.parse(text) : null; } catch { /* not JSON: keep the text */ }
  return { status: resp.status, ok: resp.ok, body };
}

/** A network failure (CORS refusal, service down) as an answer with status 0. */
function failure(err) {
  return { status: 0, ok: false, body: { error: String(err && err.message || err) } };
}

export async function control(method, path, body) {
  try {
    const init = { method, headers: {} };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return await answer(await fetch(path, init));
  } catch (err) { return failure(err); }
}

/** A Twilio REST call relayed by the console: form-encoded, as twilio-go sends it. */
export async function twilio(product, path, form, headers) {
  try {
    const resp = await fetch(`/emulator/console/twilio/${product}${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams(form).toString(),
    });
    return await answer(resp);
  } catch (err) { return failure(err); }
}

/** A flexhooks call with a Flex token as a Bearer header and a JSON body. */
export async function service(base, method, path, token, body) {
  if (!base) return failure("flexhooks' address is not set: enter it at the top of the page");
  try {
    const init = { method, headers: { Authorization: `Bearer ${token}` } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return await answer(await fetch(base + path, init));
  } catch (err) { return failure(err); }
}

/**
 * Tokens hands out Flex tokens from the emulator's IAM, one per worker and
 * role, renewed when the virtual clock passes their expiry.
 */
export class Tokens {
  constructor() { this.cache = new Map(); }

  async get(worker, supervisor, now) {
    const key = `${worker}|${supervisor}`;
    const hit = this.cache.get(key);
    if (hit && new Date(hit.expiresAt) - now > 60_000) return hit;
    const a = await control("POST", `/emulator/workers/${encodeURIComponent(worker)}/token`,
      { roles: [supervisor ? "supervisor" : "agent"] });
    if (!a.ok) throw new Error(`token for ${worker}: ${a.status} ${JSON.stringify(a.body)}`);
    this.cache.set(key, a.body);
    return a.body;
  }
}
