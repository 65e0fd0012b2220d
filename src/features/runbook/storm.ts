/**
 * Several hosts at once ("storm"): when critical problems open on more than `hosts` hosts within
 * `within` of each other, the team should look for one shared cause (a crashed hypervisor, the
 * router) before working topic by topic. The storm gets one summary (a message kept up to date,
 * ./summary.ts) instead of per-topic first messages; hosts whose critical problems open while it
 * lasts join it; it ends after `quiet` without a new critical problem, and the next one starts a
 * new summary. Pure: the opens and the time come in, the next state goes out. Times are the
 * alerts' own (a storm read back after downtime is still one), the end is measured on them too.
 */

export interface StormConfig {
  /** More distinct hosts than this make a storm. */
  hosts: number;
  /** Milliseconds. */
  within: number;
  /** Milliseconds between updates of the summary. */
  followUpEvery: number;
  /** Milliseconds without a new critical problem after which the storm is over. */
  quiet: number;
}

/** A critical problem that opened. */
export interface CriticalOpen {
  host: string;
  /** Milliseconds since the epoch. */
  at: number;
}

/** What was folded into the summary for a host instead of said in its topics. */
export interface Folded {
  /** Runbook hints (rule names). */
  hints?: string[];
  /** The client prompt. */
  clients?: boolean;
  /** Topics (`stream\u0000topic`) whose non-critical checklist was held. */
  checklists?: string[];
  /** Topics whose link to the host's earlier topic was held. */
  links?: string[];
}

export interface StormState {
  /** The first open of the storm. */
  startedAt: number;
  /** The latest open of the storm: it ends `quiet` after this. */
  lastOpenAt: number;
  /** When the summary was last brought up to date (0: not yet). */
  lastPostAt: number;
  /** The storm's hosts, in the order they joined. */
  announced: string[];
  /** The summary's card key (absent in a state saved before summaries were cards). */
  key?: string;
  /** What each host's topics did not get (folded into the summary). */
  folded?: Record<string, Folded>;
}

/** The summary's card: one per storm. */
export function stormKey(state: Pick<StormState, 'startedAt' | 'key'>): string {
  return state.key ?? `storm:${state.startedAt}`;
}

/**
 * The recent critical opens, the latest per host, over a window that ends at the newest open
 * seen: tells when more than `hosts` hosts opened within `within` of each other.
 */
export class StormDetector {
  /** By lower-cased host: the host as first seen and its latest open. */
  private readonly latest = new Map<string, CriticalOpen>();
  private newest = Number.NEGATIVE_INFINITY;

  constructor(private readonly cfg: Pick<StormConfig, 'hosts' | 'within'>) {}

  /** Records an open; returns the storm's opens (one per host, oldest first) when the window now holds more than `hosts` hosts. */
  add(o: CriticalOpen): CriticalOpen[] | undefined {
    const key = o.host.toLowerCase();
    const prev = this.latest.get(key);
    if (!prev || o.at > prev.at) this.latest.set(key, { host: prev?.host ?? o.host, at: o.at });
    if (o.at > this.newest) {
      this.newest = o.at;
      const from = this.newest - this.cfg.within;
      for (const [h, x] of this.latest) if (x.at < from) this.latest.delete(h);
    }
    if (this.latest.size <= this.cfg.hosts) return undefined;
    return [...this.latest.values()].sort((a, b) => a.at - b.at);
  }

  /** Forgets the window (a storm started from it: its hosts are the storm's now). */
  clear(): void {
    this.latest.clear();
    this.newest = Number.NEGATIVE_INFINITY;
  }
}

/** A new storm over these opens (one per host, as StormDetector gives them). */
export function startStorm(opens: readonly CriticalOpen[]): StormState {
  const times = opens.map((o) => o.at);
  const startedAt = Math.min(...times);
  return { startedAt, lastOpenAt: Math.max(...times), lastPostAt: 0, announced: [...new Set(opens.map((o) => o.host))], key: `storm:${startedAt}`, folded: {} };
}

/** A critical open while the storm lasts: its host joins (once) and the storm goes on. Returns whether anything changed. */
export function joinStorm(state: StormState, o: CriticalOpen): boolean {
  let changed = false;
  if (o.at > state.lastOpenAt) {
    state.lastOpenAt = o.at;
    changed = true;
  }
  if (!inStorm(state, o.host)) {
    state.announced.push(o.host);
    const known = hostSets.get(state); // made by inStorm
    if (known) {
      known.hosts.add(o.host.toLowerCase());
      known.n = state.announced.length;
    }
    changed = true;
  }
  return changed;
}

/** The storm's hosts, lower-cased, by state (a storm has hundreds; every alert asks). */
const hostSets = new WeakMap<StormState, { n: number; hosts: Set<string> }>();

export function inStorm(state: StormState, host: string): boolean {
  let known = hostSets.get(state);
  if (!known || known.n !== state.announced.length) {
    known = { n: state.announced.length, hosts: new Set(state.announced.map((x) => x.toLowerCase())) };
    hostSets.set(state, known);
  }
  return known.hosts.has(host.toLowerCase());
}

/** Over: no new critical problem for longer than `quiet` (by the alerts' times, or the clock when they ran ahead). */
export function stormOver(state: StormState, now: number, cfg: Pick<StormConfig, 'quiet'>): boolean {
  return now - state.lastOpenAt > cfg.quiet;
}

/** Whether the summary should be brought up to date now: at once when new, then at most every `followUpEvery`. */
export function summaryDue(state: StormState, now: number, cfg: Pick<StormConfig, 'followUpEvery'>): boolean {
  return state.lastPostAt === 0 || now - state.lastPostAt >= cfg.followUpEvery;
}

/** Records what a host's topic did not get. */
export function fold(state: StormState, host: string, what: Folded): void {
  const folded = (state.folded ??= {});
  const key = folded[host] ? host : (state.announced.find((x) => x.toLowerCase() === host.toLowerCase()) ?? host);
  const f = (folded[key] ??= {});
  if (what.clients) f.clients = true;
  for (const k of ['hints', 'checklists', 'links'] as const) {
    const add = what[k];
    if (!add || add.length === 0) continue;
    const list = (f[k] ??= []);
    for (const x of add) if (!list.includes(x)) list.push(x);
  }
}
