/**
 * Brings the process's knowledge to the topic when an alert first opens: the runbook hints that
 * match it and, for a critical incident, the question whether clients must be told, in one
 * message, once per topic (and trigger, for hints) until the topic is marked resolved.
 *
 * Storms (./storm.ts): when critical problems open on more hosts than `runbook.storm.hosts`
 * within `runbook.storm.within`, the storm's hosts' first messages — this advice, the non-critical
 * checklists, the links to a host's earlier topic (every module says those through
 * `firstMessage`) — are folded into one summary in the critical stream's several-hosts topic, a
 * message edited in place (./summary.ts) as hosts join and resolve, instead of being posted topic
 * by topic. A new critical topic's first message waits a moment in the outbox (FIRST_MESSAGE_HOLD_MS)
 * so that the first hosts of a storm are folded too; while a storm lasts, first messages of hosts
 * not (yet) in it wait longer (STORM_HOLD_MS). A storm ends after `runbook.storm.quiet` without a
 * new critical problem; the next one gets a new summary.
 */
import type { AlertEvent } from '../../pipeline/module';
import type { BotConfig } from '../../config/schema';
import type { Clock } from '../../core/clock';
import type { Logger } from '../../core/log';
import { splitMessage } from '../../core/text';
import { isResolvedTopic } from '../../domain/topics';
import type { TopicRef } from '../../domain/incident';
import type { AdviceStore, IncidentStore, Outbox, StateStore, Transactional } from '../../store/store';
import type { Speaker } from '../../zulip/speaker';
import { matchRules, needsClientPrompt, renderAdvice } from './rules';
import { fold, inStorm, joinStorm, startStorm, StormDetector, stormKey, stormOver, summaryDue, type Folded, type StormState } from './storm';
import { renderSummary, type StormHost } from './summary';

const STORM_KEY = 'runbook.storm';
/** The client prompt is once per topic, whatever the trigger. */
const ANY_TRIGGER = '';
/** A topic's first message waits this long in the outbox before it is sent: a storm starting meanwhile folds it. */
export const FIRST_MESSAGE_HOLD_MS = 1_000;
/** While a storm lasts, the first messages of hosts not in it wait this long: their critical problem often comes a little later. */
export const STORM_HOLD_MS = 10_000;
/** A new topic's status card is not made within this long of its critical problem opening (a storm starting then folds it). */
const NEW_TOPIC_GRACE_MS = 250;
/** How long after its hold a first message is still looked for in the outbox (the status card waits for it: it is the first the bot says in the topic). */
const CARD_AFTER_MS = 5_000;
/** How long past a first message's ordinary hold the reminder round still waits for it. */
const ROUND_GRACE_MS = 1_000;

export type FirstMessageKind = 'advice' | 'checklist' | 'link';

/** A topic's first message, as the modules hand it to `firstMessage`. */
export interface FirstMessage {
  host: string;
  ref: TopicRef;
  /** The text, or how to make it (not made when the message is folded into a storm's summary). */
  content: string | (() => string);
  kind: FirstMessageKind;
  /** Advice: the hints' rule names, and whether the client prompt is in it. */
  hints?: string[];
  clients?: boolean;
}

export interface RunbookAdvisorDeps {
  store: AdviceStore & StateStore & Pick<IncidentStore, 'criticalOpensSince' | 'getIncident'> & Pick<Outbox, 'enqueue' | 'reschedule' | 'remove' | 'pendingFor'> & Transactional;
  speaker: Speaker;
  config: Pick<BotConfig, 'runbook' | 'streams' | 'timezone'>;
  clock: Clock;
  log: Logger;
  /** Tells the outbox sender when a held message is due (it looks then at the latest). */
  wakeAt?: (at: number) => void;
}

/** A first message waiting in the outbox: folded if its host joins a storm before it goes. */
interface Held {
  host: string;
  ref: TopicRef;
  ids: number[];
  until: number;
  /** Until when the reminder round waits for it (see holding). */
  roundWaitsUntil: number;
  folded: Folded;
}

export class RunbookAdvisor {
  private storm: StormState | undefined;
  private readonly detector: StormDetector;
  private held: Held[] = [];
  /** When (our clock) a critical problem last opened. */
  private lastCriticalAt = Number.NEGATIVE_INFINITY;
  /** The storm changed since it was saved. */
  private dirty = false;
  /** The summary as last queued (not queued again unchanged). */
  private lastText: string | undefined;
  /** Hosts whose new topic's card waits during a storm (newTopicHold): since when (our clock). */
  private readonly asked = new Map<string, number>();
  /** When (our clock) each host's critical problem last opened, for a few seconds. */
  private readonly criticalSeen = new Map<string, number>();

  constructor(private readonly deps: RunbookAdvisorDeps) {
    const cfg = deps.config.runbook.storm;
    this.detector = new StormDetector(cfg);
    const saved = deps.store.getState(STORM_KEY);
    try {
      this.storm = saved ? (JSON.parse(saved) as StormState) : undefined;
    } catch {
      deps.log.warn({ saved: saved?.slice(0, 200) }, 'unreadable storm state; starting afresh');
    }
    // A storm may have been building when the process stopped: count the recent opens again.
    if (!this.storm) for (const o of deps.store.criticalOpensSince(deps.clock.now() - cfg.within)) this.detector.add({ host: o.host, at: o.at });
  }

  /** Alert listener: a critical open feeds the storm watch; advice for a newly opened problem. */
  onAlert({ alert, outcome, message }: AlertEvent): void {
    if (outcome.kind !== 'opened' || alert.status !== 'PROBLEM') return;
    if (alert.incidentClass === 'critical') this.criticalOpened(alert.host, outcome.incident.openedAt);
    // A failure here is the pipeline's to log (module runbook, hook onAlert); store failures go on to the poller.
    this.advise({ stream: message.stream, topic: message.topic }, alert.triggerId, {
      triggerName: alert.triggerName,
      host: alert.host,
      incidentClass: alert.incidentClass,
      at: outcome.incident.openedAt,
      timeZone: this.deps.config.timezone,
    });
  }

  /** Topic-move listener: a topic marked resolved closes its conversation; the next one gets advice afresh. */
  onTopicMove(from: TopicRef, to: TopicRef): void {
    if (isResolvedTopic(from.topic) || !isResolvedTopic(to.topic)) return;
    const n = this.deps.store.clearAdvice(from);
    if (n > 0) this.deps.log.debug({ topic: from, cleared: n }, 'runbook advice marks cleared (topic resolved)');
  }

  /**
   * A topic's first message (advice, a non-critical checklist, a link to the host's earlier
   * topic): folded into the summary when its host is in the storm; else held a moment in the
   * outbox (a storm starting meanwhile folds it), longer while a storm lasts.
   */
  firstMessage(m: FirstMessage): void {
    const { store, clock } = this.deps;
    const now = clock.now();
    const what = foldedOf(m);
    if (this.storm && inStorm(this.storm, m.host)) {
      fold(this.storm, m.host, what);
      this.dirty = true;
      this.deps.log.debug({ ...m.ref, kind: m.kind }, 'first message folded into the storm summary');
      return;
    }
    const holdMs = this.storm ? STORM_HOLD_MS : FIRST_MESSAGE_HOLD_MS;
    store.transaction(() => {
      const content = typeof m.content === 'function' ? m.content() : m.content;
      const ids = splitMessage(content).map((part) => store.enqueue({ kind: 'message', stream: m.ref.stream, topic: m.ref.topic, content: part }, now, 'bulk'));
      for (const id of ids) store.reschedule(id, now + holdMs, 0);
      this.held.push({ host: m.host, ref: m.ref, ids, until: now + holdMs, roundWaitsUntil: now + FIRST_MESSAGE_HOLD_MS + ROUND_GRACE_MS, folded: what });
    });
    this.deps.wakeAt?.(now + holdMs);
  }

  /**
   * For a message the bot keeps up to date in each new topic (the status card, which is not said
   * through `firstMessage`): 'fold' when its host is in the storm (the summary stands for it),
   * 'wait' while a storm may be starting (ask again), else undefined.
   */
  newTopicHold(host: string): 'fold' | 'wait' | undefined {
    if (this.storm && inStorm(this.storm, host)) return 'fold';
    const now = this.deps.clock.now();
    const k = host.toLowerCase();
    if (!this.storm) {
      // Its critical problem opened a moment ago (a storm starting would fold the card), or its
      // first message still waits in the outbox (that goes first: the card comes after it).
      const seen = this.criticalSeen.get(k);
      if (seen !== undefined && now - seen < NEW_TOPIC_GRACE_MS) return 'wait';
      const first = this.held.find((h) => h.host.toLowerCase() === k && h.until + CARD_AFTER_MS > now);
      return first && this.deps.store.pendingFor(first.ref.stream, first.ref.topic) > 0 ? 'wait' : undefined;
    }
    // During a storm, a host not in it waits as its first messages do (its critical problem may follow).
    const since = this.asked.get(k) ?? now;
    if (now - since < STORM_HOLD_MS) {
      this.asked.set(k, since);
      return 'wait';
    }
    this.asked.delete(k);
    return undefined;
  }

  /** Whether the topic's first message still waits in the outbox (the reminder round waits for it: it goes first). */
  holding(ref: TopicRef): boolean {
    if (this.held.length === 0) return false;
    const now = this.deps.clock.now();
    const topic = ref.topic.toLowerCase();
    // Only for the ordinary hold (and one round after): a reminder is not kept back longer — not
    // by a storm's longer hold, nor by an outbox slowed by a Zulip or store outage; it is then
    // said first. (With production SLAs a reminder falls due on arrival only after downtime.)
    const h = this.held.find((x) => Math.min(x.until + ROUND_GRACE_MS, x.roundWaitsUntil) > now && x.ref.stream === ref.stream && x.ref.topic.toLowerCase() === topic);
    return h !== undefined && this.deps.store.pendingFor(ref.stream, ref.topic) > 0;
  }

  /** Scheduler round: the storm's summary brought up to date, or ended after the quiet period. */
  tick(now: number): void {
    if (this.held.length > 0) this.held = this.held.filter((h) => h.until + CARD_AFTER_MS > now);
    for (const [k, since] of this.asked) if (now - since > STORM_HOLD_MS) this.asked.delete(k);
    for (const [k, at] of this.criticalSeen) if (now - at > NEW_TOPIC_GRACE_MS) this.criticalSeen.delete(k);
    const storm = this.storm;
    if (!storm) return;
    const cfg = this.deps.config.runbook.storm;
    if (stormOver(storm, now, cfg)) {
      this.endStorm(now);
      return;
    }
    if (summaryDue(storm, now, cfg)) this.updateSummary(now);
    else if (this.dirty) this.save();
  }

  private criticalOpened(host: string, at: number): void {
    const now = this.deps.clock.now();
    this.lastCriticalAt = now;
    this.criticalSeen.set(host.toLowerCase(), now);
    const cfg = this.deps.config.runbook.storm;
    if (this.storm && stormOver(this.storm, Math.max(now, at), cfg)) this.endStorm(now);
    if (this.storm) {
      if (joinStorm(this.storm, { host, at })) this.dirty = true;
      this.foldHeld(host);
      return;
    }
    const opens = this.detector.add({ host, at });
    if (!opens) return;
    this.storm = startStorm(opens);
    this.detector.clear();
    this.dirty = true;
    this.lastText = undefined;
    this.deps.log.info({ hosts: this.storm.announced.length, startedAt: this.storm.startedAt }, 'several hosts down: storm started; its hosts\' first messages go into the summary');
    for (const h of this.storm.announced) this.foldHeld(h);
  }

  /** The host joined the storm: its first messages still waiting in the outbox go into the summary instead. */
  private foldHeld(host: string): void {
    const storm = this.storm;
    if (!storm || this.held.length === 0) return;
    const h = host.toLowerCase();
    const now = this.deps.clock.now();
    const mine = this.held.filter((x) => x.host.toLowerCase() === h && x.until > now);
    if (mine.length === 0) return;
    this.deps.store.transaction(() => {
      for (const x of mine) {
        for (const id of x.ids) this.deps.store.remove(id);
        fold(storm, host, x.folded);
      }
    });
    this.held = this.held.filter((x) => !mine.includes(x));
    this.dirty = true;
  }

  private advise(ref: TopicRef, triggerId: string, facts: Parameters<typeof matchRules>[1]): void {
    const { store, clock, config } = this.deps;
    const rb = config.runbook;
    const hints = matchRules(rb.rules, facts);
    const prompt = needsClientPrompt(rb.clientPrompt, facts);
    if (hints.length === 0 && !prompt) return;
    store.transaction(() => {
      const now = clock.now();
      const withHints = hints.length > 0 && store.markAdvicePosted(ref, triggerId, 'hint', now);
      const withPrompt = prompt && store.markAdvicePosted(ref, ANY_TRIGGER, 'clients', now);
      const text = renderAdvice(withHints ? hints : [], withPrompt);
      if (!text) return;
      this.firstMessage({ host: facts.host, ref, content: text, kind: 'advice', hints: withHints ? hints.map((h) => h.name) : [], clients: withPrompt });
      this.deps.log.info({ ...ref, triggerId, hints: withHints ? hints.map((h) => h.name) : [], clientPrompt: withPrompt }, 'runbook advice posted');
    });
  }

  /** The storm's hosts as the summary shows them: their critical triggers, topics, and whether all are resolved. */
  private stormHosts(storm: StormState): StormHost[] {
    const { store } = this.deps;
    const byHost = new Map<string, { triggers: string[]; eventIds: string[]; topic: TopicRef }>();
    for (const o of store.criticalOpensSince(storm.startedAt)) {
      const k = o.host.toLowerCase();
      const h = byHost.get(k) ?? { triggers: [], eventIds: [], topic: { stream: o.stream, topic: o.topic } };
      byHost.set(k, h);
      if (!h.triggers.includes(o.triggerName)) h.triggers.push(o.triggerName);
      h.eventIds.push(o.eventId);
      h.topic = { stream: o.stream, topic: o.topic };
    }
    return storm.announced.map((host) => {
      const h = byHost.get(host.toLowerCase());
      if (!h) return { host, triggers: [], resolved: false };
      const resolved = h.eventIds.every((id) => store.getIncident(id)?.status === 'resolved');
      return { host, triggers: h.triggers, topic: h.topic, resolved };
    });
  }

  private updateSummary(now: number, over = false): void {
    const storm = this.storm;
    if (!storm) return;
    const { config, speaker, store } = this.deps;
    const cfg = config.runbook.storm;
    const text = renderSummary({ state: storm, hosts: this.stormHosts(storm), within: cfg.within, timeZone: config.timezone, rules: config.runbook.rules, ...(over ? { over: { quiet: cfg.quiet } } : {}) });
    store.transaction(() => {
      const first = storm.lastPostAt === 0;
      storm.lastPostAt = now;
      if (text !== this.lastText) speaker.card(stormKey(storm), config.streams.critical, cfg.topic, text, 'notice');
      this.save();
      if (first) this.deps.log.info({ hosts: storm.announced.length, key: stormKey(storm) }, 'several hosts down: summary posted');
    });
    this.lastText = text;
  }

  private endStorm(now: number): void {
    const storm = this.storm;
    if (!storm) return;
    this.updateSummary(now, true);
    this.storm = undefined;
    this.lastText = undefined;
    this.deps.store.setState(STORM_KEY, '');
    this.dirty = false;
    this.deps.log.info({ hosts: storm.announced.length, key: stormKey(storm) }, 'several hosts down: storm over');
  }

  private save(): void {
    this.deps.store.setState(STORM_KEY, this.storm ? JSON.stringify(this.storm) : '');
    this.dirty = false;
  }
}

function foldedOf(m: FirstMessage): Folded {
  const where = `${m.ref.stream}\u0000${m.ref.topic}`;
  if (m.kind === 'advice') return { ...(m.hints && m.hints.length > 0 ? { hints: m.hints } : {}), ...(m.clients ? { clients: true } : {}) };
  if (m.kind === 'checklist') return { checklists: [where] };
  return { links: [where] };
}
