/**
 * Several hosts at once: when critical problems open on more than `hosts` hosts within
 * `within`, the team should look for one shared cause (a crashed hypervisor, the router) before
 * working topic by topic. A storm is announced once; it lasts while critical problems keep
 * opening (no gap longer than `within`); hosts that join it are appended at most every
 * `followUpEvery`. Pure: the opens and the time come in, the next state and what to post go out.
 */

export interface StormConfig {
  /** More distinct hosts than this make a storm. */
  hosts: number;
  /** Milliseconds. */
  within: number;
  /** Milliseconds between follow-ups. */
  followUpEvery: number;
}

/** A critical problem that opened. */
export interface CriticalOpen {
  host: string;
  /** Milliseconds since the epoch. */
  at: number;
}

export interface StormState {
  /** The first open of the storm. */
  startedAt: number;
  /** The latest open of the storm: it ends `within` after this. */
  lastOpenAt: number;
  /** When the bot last posted about it. */
  lastPostAt: number;
  /** Hosts already named, in order. */
  announced: string[];
}

export type StormPost = { kind: 'announce'; hosts: string[] } | { kind: 'follow-up'; hosts: string[]; total: number };

export interface StormStep {
  state: StormState | undefined;
  post?: StormPost;
}

/** Since when opens matter for the next step (callers fetch the opens from there). */
export function stormLookback(state: StormState | undefined, now: number, cfg: StormConfig): number {
  return state ? Math.min(state.startedAt, now - cfg.within) : now - cfg.within;
}

/** Distinct hosts in order of their first open. */
function hostsOf(opens: readonly CriticalOpen[]): string[] {
  const seen = new Set<string>();
  for (const o of [...opens].sort((a, b) => a.at - b.at)) seen.add(o.host);
  return [...seen];
}

/**
 * The next state after seeing the opens (those since `stormLookback`; older ones are ignored;
 * slightly later ones count, as the alerts' clock may run ahead of ours) at time `now`, and what
 * to post, if anything.
 */
export function stormStep(state: StormState | undefined, opens: readonly CriticalOpen[], now: number, cfg: StormConfig): StormStep {
  const seen = opens;
  if (state) {
    const inStorm = seen.filter((o) => o.at >= state.startedAt);
    const lastOpenAt = Math.max(state.lastOpenAt, ...inStorm.map((o) => o.at));
    if (now - lastOpenAt <= cfg.within) {
      const next: StormState = { ...state, lastOpenAt };
      const newHosts = hostsOf(inStorm).filter((h) => !state.announced.includes(h));
      if (newHosts.length === 0 || now - state.lastPostAt < cfg.followUpEvery) return { state: next };
      const announced = [...state.announced, ...newHosts];
      return { state: { ...next, announced, lastPostAt: now }, post: { kind: 'follow-up', hosts: newHosts, total: announced.length } };
    }
    // The storm is over: quiet for longer than `within`. A new one needs the threshold again.
  }
  const recent = seen.filter((o) => o.at > now - cfg.within);
  const hosts = hostsOf(recent);
  if (hosts.length <= cfg.hosts) return { state: undefined };
  const times = recent.map((o) => o.at);
  return {
    state: { startedAt: Math.min(...times), lastOpenAt: Math.max(...times), lastPostAt: now, announced: hosts },
    post: { kind: 'announce', hosts },
  };
}
