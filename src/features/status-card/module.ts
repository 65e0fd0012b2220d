/**
 * One status card per incident topic: a message the bot keeps up to date by editing it in place
 * (speaker.card: edited within `zulip.editWindow`, a fresh one posted after it or when Zulip
 * refuses the edit, and that one edited from then on). It shows per incident the class and SLA
 * deadline, who acknowledged and when, who handles it, a snooze, Zabbix's state with a link to the
 * event, linked topics and the GitLab issue (./render.ts).
 *
 * When: the hooks (an alert, a topic move, what commands and the Zabbix sync change, any message
 * in the topic) only mark the topic dirty; the one-second tick renders the dirty topics (at most
 * `perTick`), and enqueues a card only when its text changed — a burst of alerts in one topic is
 * one render. A slow sweep (one topic with a card per tick, the list of open topics read at most
 * every 30 s) catches what changes without a hook: a GitLab issue made by a job, a handover
 * moving an acknowledgement, a snooze or a `!handling` that ran out.
 *
 * The card's key is `status:<stream>:<topic without ✔>`: a ✔ rename keeps it (the card message
 * moved with its topic in Zulip, so its record follows the move); a new topic of the same host
 * after a ✔ gets a fresh card (the record's topic is the ✔'d one, not this).
 */
import type { Clock } from '../../core/clock';
import type { Logger } from '../../core/log';
import type { Incident, IncidentChange, TopicRef } from '../../domain/incident';
import type { SlaConfig } from '../../domain/sla';
import { hostTopic } from '../../domain/topics';
import type { BotModule } from '../../pipeline/module';
import type { CardStore, IncidentStore } from '../../store/store';
import type { Speaker } from '../../zulip/speaker';
import { renderCard, type ZabbixAckState } from './render';

export interface StatusCardDeps {
  store: Pick<IncidentStore, 'incidentsInTopic' | 'openSummaries' | 'latestElsewhereForHost' | 'history'> & Pick<CardStore, 'getCard' | 'putCard'>;
  speaker: Speaker;
  clock: Clock;
  log: Logger;
  sla: SlaConfig;
  timeZone: string;
  zabbixConfigured: boolean;
  acknowledgeEmoji: readonly string[];
  /** Who handles an incident instead of the first responder (src/features/responders/). */
  handledBy?: (i: Incident, now: number) => { name: string; role: string } | undefined;
  /** The GitLab line of an incident (src/features/gitlab/service.ts issueLine). */
  issueLine?: (eventId: string) => string | undefined;
  /** Dirty topics rendered per tick (default 20). */
  perTick?: number;
  /**
   * Storms (issue 17, src/features/runbook/advisor.ts): whether a new topic of this host gets no
   * card now — 'fold': its host is in a storm, whose one summary stands for its topics' first
   * messages; 'wait': a storm may be starting, asked again next tick. A card already posted is
   * still kept up to date.
   */
  newTopicHold?: (host: string) => 'fold' | 'wait' | undefined;
}

/** How often the list of open topics the sweep walks is read again, at most. */
const SWEEP_EVERY_MS = 30_000;

export function cardKey(ref: TopicRef): string {
  return `status:${ref.stream}:${hostTopic(ref.topic)}`;
}

const same = (a: TopicRef, b: TopicRef) => a.stream === b.stream && a.topic.toLowerCase() === b.topic.toLowerCase();

export class StatusCards {
  /** Topics to render, by card key (the newest name of the topic). */
  private readonly dirty = new Map<string, TopicRef>();
  /** The text last queued per key (the card store has it once delivered). */
  private readonly queued = new Map<string, string>();
  /** Chat acknowledgements on their way to Zabbix, by event id (this process's knowledge). */
  private readonly zabbixAck = new Map<string, ZabbixAckState>();
  /** Topics whose new card waits (newTopicHold): dirty again after this tick. */
  private readonly waiting = new Map<string, TopicRef>();
  private sweep: TopicRef[] = [];
  private sweepAt = 0;
  renders = 0;

  constructor(private readonly deps: StatusCardDeps) {}

  /** The topic's card needs rendering (at the next tick). */
  mark(ref: TopicRef): void {
    this.dirty.set(cardKey(ref), { stream: ref.stream, topic: ref.topic });
  }

  /** A topic renamed or moved: the card message moved with it in Zulip; its record follows. */
  moved(from: TopicRef, to: TopicRef): void {
    const { store } = this.deps;
    const fromKey = cardKey(from);
    const toKey = cardKey(to);
    const card = store.getCard(fromKey);
    if (card && same(card, from)) {
      store.putCard({ ...card, key: toKey, stream: to.stream, topic: to.topic });
      // The old key is free again: a new topic of that name gets a fresh card.
      if (fromKey !== toKey) store.putCard({ ...card, messageId: 0, content: '' });
      const q = this.queued.get(fromKey);
      this.queued.delete(fromKey);
      if (q !== undefined) this.queued.set(toKey, q);
    }
    this.dirty.delete(fromKey);
    this.mark(to);
  }

  /** What a command, a reaction or the Zabbix sync changed. */
  changed(c: IncidentChange): void {
    if (c.kind === 'acknowledged' && this.deps.zabbixConfigured) for (const i of c.incidents) this.zabbixAck.set(i.eventId, 'sent');
    if (c.kind === 'zabbix' && (c.state === 'ack-confirmed' || c.state === 'ack-failing')) {
      for (const i of c.incidents) this.zabbixAck.set(i.eventId, c.state === 'ack-confirmed' ? 'confirmed' : 'failing');
    }
    if (c.kind === 'resolved' || (c.kind === 'zabbix' && c.state === 'resolved')) for (const i of c.incidents) this.zabbixAck.delete(i.eventId);
    this.mark(c.where);
    for (const i of c.incidents) this.mark(i);
  }

  /** The scheduler's round: the dirty topics, then one topic of the sweep. */
  tick(now: number): void {
    const budget = this.deps.perTick ?? 20;
    let n = 0;
    for (const [key, ref] of this.dirty) {
      if (n++ >= budget) break;
      this.dirty.delete(key);
      this.render(ref, now, true);
    }
    for (const [key, ref] of this.waiting) this.dirty.set(key, ref);
    this.waiting.clear();
    if (this.sweep.length === 0 && now >= this.sweepAt) {
      this.sweepAt = now + SWEEP_EVERY_MS;
      const seen = new Set<string>();
      for (const s of this.deps.store.openSummaries()) {
        const key = `${s.stream}\u0000${s.topic}`;
        if (seen.has(key)) continue;
        seen.add(key);
        this.sweep.push({ stream: s.stream, topic: s.topic });
      }
    }
    const next = this.sweep.shift();
    if (next && this.deps.store.getCard(cardKey(next))) this.render(next, now, false);
  }

  /** Renders the topic's card and queues it when its text changed. `create`: post one if the topic has none yet. */
  render(ref: TopicRef, now: number, create: boolean): void {
    const { store, speaker } = this.deps;
    const key = cardKey(ref);
    const incidents = store.incidentsInTopic(ref);
    if (incidents.length === 0) return;
    let card = store.getCard(key);
    if (card && card.messageId > 0 && !same(card, ref)) {
      // The key's card is in another topic (the host's earlier, ✔'d one): this topic gets its own.
      store.putCard({ ...card, messageId: 0, content: '' });
      this.queued.delete(key);
      card = store.getCard(key);
    }
    const live = card !== undefined && (card.messageId > 0 || card.content !== '');
    // No card yet: one is started by an open incident (never for a topic that was all resolved before the card existed).
    if (!live && (!create || incidents.every((i) => i.status === 'resolved'))) return;
    const hold = live ? undefined : this.deps.newTopicHold?.((incidents[0] as Incident).host);
    if (hold === 'wait') this.waiting.set(key, ref);
    if (hold) return;
    const content = renderCard(incidents, {
      sla: this.deps.sla,
      timeZone: this.deps.timeZone,
      now,
      zabbixConfigured: this.deps.zabbixConfigured,
      acknowledgeEmoji: this.deps.acknowledgeEmoji,
      zabbixAck: (id) => this.zabbixAck.get(id),
      ...(this.deps.handledBy ? { handledBy: (i: Incident) => this.deps.handledBy?.(i, now) } : {}),
      ...(this.deps.issueLine ? { issueLine: this.deps.issueLine } : {}),
      linked: (i) => this.linked(i, ref),
    });
    this.renders++;
    const delivered = live ? card?.content : undefined;
    // Once the card store has what was queued, the queued text is not needed any more.
    if (this.queued.get(key) === delivered) this.queued.delete(key);
    if (content === (this.queued.get(key) ?? delivered)) return;
    // Behind replies and reminders (they notify; the ✅ of a reaction goes with the replies).
    speaker.card(key, ref.stream, ref.topic, content, 'bulk');
    this.queued.set(key, content);
  }

  /** The host's earlier topic, and the topic whose work resolved the incident (`!resolved-by`). */
  private linked(i: Incident, here: TopicRef): { ref: TopicRef; why: string }[] {
    const out: { ref: TopicRef; why: string }[] = [];
    if (i.resolution === 'linked') {
      const entry = this.deps.store.history(i.eventId).filter((e) => e.kind === 'resolved').at(-1);
      const m = /^resolved in (.+?) > (.+)$/.exec(entry?.detail ?? '');
      if (m) out.push({ ref: { stream: m[1] as string, topic: m[2] as string }, why: 'resolved by the work there' });
    }
    const earlier = this.deps.store.latestElsewhereForHost(i.host, here);
    if (earlier) out.push({ ref: { stream: earlier.stream, topic: earlier.topic }, why: 'earlier incidents of this host' });
    return out;
  }

  /** For /healthz: topics waiting to be rendered, renders so far. */
  health(): { ok: true; dirty: number; renders: number } {
    return { ok: true, dirty: this.dirty.size, renders: this.renders };
  }
}

export function statusCardModule(cards: StatusCards): BotModule {
  return {
    name: 'status-card',
    onAlert: ({ outcome }) => {
      // Not a repeat: the card shows nothing a repeat changes (the sweep renders every card now and then).
      if (outcome.kind === 'opened' || outcome.kind === 'reopened' || outcome.kind === 'resolved') cards.mark(outcome.incident);
    },
    onTopicMove: ({ from, to }) => cards.moved(from, to),
    onIncidentChange: (c) => cards.changed(c),
    // Commands typed in the topic (`!snooze`, `!handling`, the resolution phrase…) change what it shows.
    onMessage: (m) => cards.mark({ stream: m.stream, topic: m.topic }),
    tick: (now) => cards.tick(now),
    health: () => cards.health(),
  };
}
