// model.js: the emulator's state (GET /emulator/state) read the way the page
// needs it. Everything here is pure: state in, plain values out.

export const LIVE_TASK = new Set(["pending", "reserved", "assigned", "wrapping"]);
export const PARKED_MAP = "ParkedInteractions_";
export const RECORDS_MAP = "flexhooks_interactions";

export class World {
  constructor(state) {
    this.state = state;
    this.now = new Date(state.now);
    this.ws = (state.taskrouter && state.taskrouter.workspaces && state.taskrouter.workspaces[0]) || {};
    this.workers = this.ws.workers || [];
    this.queues = this.ws.taskQueues || [];
    this.tasks = this.ws.tasks || [];
    this.reservations = this.ws.reservations || [];
    this.conversations = (state.conversations && state.conversations.conversations) || [];
    this.interactions = (state.flex && state.flex.interactions) || [];
    this.syncServices = (state.sync && state.sync.services) || [];
  }

  worker(nameOrSid) {
    return this.workers.find((w) => w.sid === nameOrSid || w.friendlyName === nameOrSid);
  }

  workerName(sid) {
    const w = this.worker(sid);
    return w ? w.friendlyName : sid;
  }

  task(sid) { return this.tasks.find((t) => t.sid === sid); }

  conversation(sid) { return this.conversations.find((c) => c.sid === sid); }

  /** The Flex interaction channel of a conversation. */
  channel(conversationSid) {
    for (const i of this.interactions) {
      if (i.channel && i.channel.conversationSid === conversationSid) return { interactionSid: i.sid, ...i.channel };
    }
    return null;
  }

  tasksOf(workerSid) {
    return this.tasks.filter((t) => t.workerSid === workerSid && LIVE_TASK.has(t.assignmentStatus));
  }

  pendingReservations(workerSid) {
    return this.reservations.filter((r) => r.workerSid === workerSid && r.status === "pending");
  }

  reservationsOf(taskSid) { return this.reservations.filter((r) => r.taskSid === taskSid); }

  /** Sync maps of every service, each with its service's name. */
  maps() {
    return this.syncServices.flatMap((s) => (s.maps || []).map((m) => ({ service: s.uniqueName || s.sid, ...m })));
  }

  /** The parked list of a worker: the items of ParkedInteractions_{workerSid}. */
  parked(workerSid) {
    const m = this.maps().find((x) => x.uniqueName === PARKED_MAP + workerSid);
    return m ? m.items || [] : [];
  }

  /**
   * What a worker can resume: their parked list, else (PARKED_LIST=false)
   * the conversations whose park record (attribute flexhooksPark) is theirs.
   */
  resumable(workerSid) {
    const listed = this.parked(workerSid).map((it) => ({ conversationSid: it.key, ...parseJSON(it.data), listed: true }));
    const seen = new Set(listed.map((x) => x.conversationSid));
    const fromAttributes = this.conversations.filter((c) => !seen.has(c.sid)).map((c) => {
      const park = parseJSON(c.attributes).flexhooksPark;
      return park && park.workerSid === workerSid ? { ...park, conversationSid: c.sid, listed: false } : null;
    }).filter(Boolean);
    return [...listed, ...fromAttributes];
  }

  /** Everything a plugin sends to park the agent's task (README's walkthrough, step 3). */
  parkRequest(task, workerSid) {
    const a = task.attributes || {};
    const ch = this.channel(a.conversationSid) || {};
    const me = (ch.participants || []).find((p) => p.type === "agent" && p.workerSid === workerSid && p.status !== "closed");
    return {
      conversationSid: a.conversationSid,
      interactionSid: a.flexInteractionSid,
      channelSid: a.flexInteractionChannelSid || ch.sid,
      channelType: ch.type || a.channelType,
      participantSid: me ? me.sid : "",
      taskSid: task.sid,
      workflowSid: task.workflowSid,
      taskChannelUniqueName: task.taskChannel,
      queueName: task.queue,
      queueSid: task.queueSid,
      taskAttributes: a,
      workerSid,
      createUpdateSyncMapItem: true,
    };
  }

  /** Past sessions of a conversation's customer: their tasks in other conversations. */
  pastSessions(conversationSid) {
    const c = this.conversation(conversationSid);
    const current = this.tasks.find((t) => (t.attributes || {}).conversationSid === conversationSid);
    const address = current && (current.attributes || {}).customerAddress;
    if (!c || !address) return [];
    return this.tasks.filter((t) => {
      const a = t.attributes || {};
      return a.customerAddress === address && a.conversationSid && a.conversationSid !== conversationSid;
    });
  }

  /** The customer of a conversation: the participant with an address, or a chat identity not an agent's. */
  customer(conv) {
    const agents = new Set(this.workers.map((w) => w.friendlyName));
    const p = (conv.participants || []).find((x) => x.address || (x.identity && !agents.has(x.identity)));
    return p ? p.address || p.identity : "";
  }

  isAgent(author) { return this.workers.some((w) => w.friendlyName === author); }
}

export function parseJSON(v) {
  if (v && typeof v === "object") return v;
  try { return JSON.parse(v || "{}") || {}; } catch { return {}; }
}
