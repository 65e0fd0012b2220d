/**
 * Brings the process's knowledge to the topic when an alert first opens: the runbook hints that
 * match it and, for a critical incident, the question whether clients must be told, in one
 * message, once per topic (and trigger, for hints) until the topic is marked resolved. Watches
 * for critical problems opening on several hosts at once and says so once, in the critical
 * stream's general topic.
 */
import type { AlertEvent } from '../../pipeline/module';
import type { BotConfig } from '../../config/schema';
import { formatDuration } from '../../domain/duration';
import type { Clock } from '../../core/clock';
import type { Logger } from '../../core/log';
import { outside, topicLink } from '../../core/text';
import { isResolvedTopic } from '../../domain/topics';
import type { TopicRef } from '../../domain/incident';
import type { AdviceStore, IncidentStore, StateStore, Transactional } from '../../store/store';
import type { Speaker } from '../../zulip/speaker';
import { matchRules, needsClientPrompt, renderAdvice } from './rules';
import { stormLookback, stormStep, type CriticalOpen, type StormPost, type StormState } from './storm';

const STORM_KEY = 'runbook.storm';
/** The client prompt is once per topic, whatever the trigger. */
const ANY_TRIGGER = '';
const MAX_TRIGGERS_PER_HOST = 3;
/** Critical alerts arriving in a burst are looked at once the burst pauses this long… */
const SETTLE_MS = 1_500;
/** …or this long after its first alert at the latest. */
const MAX_SETTLE_MS = 10_000;

export interface RunbookAdvisorDeps {
  store: AdviceStore & StateStore & Pick<IncidentStore, 'criticalOpensSince'> & Transactional;
  speaker: Speaker;
  config: Pick<BotConfig, 'runbook' | 'streams' | 'timezone'>;
  clock: Clock;
  log: Logger;
}

/** A critical open with what the storm message shows about it. */
interface OpenDetail extends CriticalOpen {
  triggerName: string;
  stream: string;
  topic: string;
}

export class RunbookAdvisor {
  private storm: StormState | undefined;
  /** When the first critical open not yet looked at arrived (at start: a restart may have cut one short). */
  private pendingSince: number | undefined;
  private lastCriticalAt = 0;

  constructor(private readonly deps: RunbookAdvisorDeps) {
    const saved = deps.store.getState(STORM_KEY);
    try {
      this.storm = saved ? (JSON.parse(saved) as StormState) : undefined;
    } catch {
      deps.log.warn({ saved: saved?.slice(0, 200) }, 'unreadable storm state; starting afresh');
    }
    this.pendingSince = deps.clock.now();
  }

  /** Alert listener: advice for a newly opened problem; critical opens feed the storm watch. */
  onAlert({ alert, outcome, message }: AlertEvent): void {
    if (outcome.kind !== 'opened' || alert.status !== 'PROBLEM') return;
    // Looked at by a scheduler round once the burst settles: alerts arriving together are named together.
    if (alert.incidentClass === 'critical') {
      const now = this.deps.clock.now();
      this.pendingSince ??= now;
      this.lastCriticalAt = now;
    }
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

  /** Scheduler round: announces a storm, appends hosts that joined it, ends it when it is over. */
  tick(now: number): void {
    if (this.pendingSince !== undefined) {
      if (now - this.lastCriticalAt < SETTLE_MS && now - this.pendingSince < MAX_SETTLE_MS) return;
      this.pendingSince = undefined;
    } else if (!this.storm) return;
    this.watchStorm(now);
  }

  private advise(ref: TopicRef, triggerId: string, facts: Parameters<typeof matchRules>[1]): void {
    const { store, speaker, clock, config } = this.deps;
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
      speaker.say(ref.stream, ref.topic, text, 'bulk');
      this.deps.log.info({ ...ref, triggerId, hints: withHints ? hints.map((h) => h.name) : [], clientPrompt: withPrompt }, 'runbook advice posted');
    });
  }

  /** The critical opens since `since`, from the incidents' history. */
  private criticalOpens(since: number): OpenDetail[] {
    return this.deps.store.criticalOpensSince(since).map((o) => ({ host: o.host, at: o.at, triggerName: o.triggerName, stream: o.stream, topic: o.topic }));
  }

  private watchStorm(now: number): void {
    const { store, speaker, config } = this.deps;
    const cfg = config.runbook.storm;
    const opens = this.criticalOpens(stormLookback(this.storm, now, cfg));
    const step = stormStep(this.storm, opens, now, cfg);
    if (JSON.stringify(step.state) === JSON.stringify(this.storm) && !step.post) return;
    store.transaction(() => {
      store.setState(STORM_KEY, step.state ? JSON.stringify(step.state) : '');
      if (step.post) speaker.say(config.streams.critical, cfg.topic, renderStorm(step.post, opens, cfg.within), 'bulk');
    });
    if (step.post) this.deps.log.info({ kind: step.post.kind, hosts: step.post.hosts }, 'several hosts down: posted');
    else if (!step.state) this.deps.log.info('several hosts down: storm over');
    this.storm = step.state;
  }
}

/** The storm message: each host with its critical triggers and a link to its topic. Pure. */
export function renderStorm(post: StormPost, opens: readonly OpenDetail[], within: number): string {
  const lines = post.hosts.map((host) => {
    const mine = opens.filter((o) => o.host === host).sort((a, b) => a.at - b.at);
    const names = [...new Set(mine.map((o) => outside(o.triggerName)))];
    const shown = names.slice(0, MAX_TRIGGERS_PER_HOST).join('; ') + (names.length > MAX_TRIGGERS_PER_HOST ? `; +${names.length - MAX_TRIGGERS_PER_HOST} more` : '');
    const where = mine.at(-1);
    return `- **${outside(host)}**: ${shown}${where ? ` — ${topicLink(where.stream, where.topic)}` : ''}`;
  });
  if (post.kind === 'follow-up') {
    return [`🌩️ More hosts in the same storm (${post.total} hosts now):`, ...lines].join('\n');
  }
  return [
    `🌩️ **Critical problems on ${post.hosts.length} hosts within ${formatDuration(within)}.** That is likely one shared cause (a crashed server, the router, the network): look for it first — what fires in Zabbix, what these hosts share — and handle the likely root cause before working topic by topic; then link its topic from the others it resolves.`,
    ...lines,
  ].join('\n');
}
