/**
 * The reminder engine: each round, fires the SLA timers that fell due, once, and posts one
 * message per topic. Timer state and the outgoing messages are written in one transaction, so
 * a crash either did the round or did not: never half, never twice.
 *
 * Reminders keep one cadence per topic: when a topic gets a reminder, every unacknowledged,
 * unsnoozed incident there is named in it (and reminded again with it); a reminder that falls
 * due within an interval of the topic's last one (an alert read back after downtime, a topic
 * moved in) waits for the topic's next. So a topic gets at most one reminder message per
 * interval, not one per incident in consecutive rounds.
 *
 * Everything the SLA engine says in a topic is one message per round: reminders, 75 % warnings
 * and breaches of the topic's incidents that fall due within `min(60 s, remindEvery / 4)` of the
 * topic's first due item go out together with one mention (`coalesceWindow`), so incidents opened
 * seconds apart do not each ping (a breach said ahead of its deadline says when the deadline is).
 */
import type { SlaConfig } from '../../domain/sla';
import type { Logger } from '../../core/log';
import type { Incident, TopicRef } from '../../domain/incident';
import { coalesceWindow, fireDue, pendingWarnings, reminderDueAt, remindable, topicHold, type Fired, type FiredReminder, type WarningDue } from '../../domain/timers';
import type { IncidentStore, Transactional } from '../../store/store';
import type { Speaker } from '../../zulip/speaker';
import { renderTopicRound, type Addressee, type RoundEscalation } from './render';

export interface ReminderEngineDeps {
  store: IncidentStore & Transactional;
  speaker: Speaker;
  sla: SlaConfig;
  log: Logger;
  /** For the times shown in warnings. */
  timeZone: string;
  /**
   * Who an incident's reminders and warnings are addressed to, if anyone: whoever acknowledged it,
   * else whoever handles it (its topic, area or host), else the first responder.
   */
  addressee?: (incident: Incident, now: number) => Addressee | undefined;
  /** Escalation steps stated in and fired by the reminders (./escalation.ts). */
  escalation?: RoundEscalation;
  /**
   * A topic whose first message is still held back (src/features/runbook/advisor.ts: a storm may be
   * starting): its round waits a moment, so that message stays the first the bot says there.
   */
  holdTopic?: (ref: TopicRef) => boolean;
}

export interface RoundResult {
  messages: number;
  reminders: number;
  warnings: number;
  breaches: number;
}

export class ReminderEngine {
  readonly totals: RoundResult = { messages: 0, reminders: 0, warnings: 0, breaches: 0 };

  constructor(private readonly deps: ReminderEngineDeps) {}

  /** Runs one round at `now`. Cheap when nothing is due (one indexed lookup). */
  tick(now: number): RoundResult {
    const result: RoundResult = { messages: 0, reminders: 0, warnings: 0, breaches: 0 };
    const { store } = this.deps;
    const next = store.nextDueAt();
    if (next === undefined || next > now) return result;
    store.transaction(() => {
      const { sla } = this.deps;
      const byTopic = new Map<string, { ref: TopicRef; due: Incident[]; reminders: FiredReminder[]; warnings: { warning: WarningDue; incident: Incident }[] }>();
      for (const incident of store.dueIncidents(now)) {
        const key = `${incident.stream}\u0000${incident.topic}`;
        const slot = byTopic.get(key) ?? { ref: { stream: incident.stream, topic: incident.topic }, due: [], reminders: [], warnings: [] };
        byTopic.set(key, slot);
        slot.due.push(incident);
      }
      for (const slot of byTopic.values()) {
        if (this.deps.holdTopic?.(slot.ref)) continue;
        const record = (fired: Fired) => {
          store.putIncident(fired.incident);
          const eventId = fired.incident.eventId;
          if (fired.reminder) {
            slot.reminders.push(fired.reminder);
            store.addLog({ eventId, at: now, kind: 'reminder', detail: `reminder #${fired.incident.timers?.remindersSent ?? 0}` });
          }
          for (const w of fired.warnings) {
            slot.warnings.push({ warning: w, incident: fired.incident });
            // A breach said a few seconds ahead (coalesced) is recorded at its deadline.
            store.addLog({ eventId, at: w.level === 100 ? Math.max(now, w.at) : now, kind: w.level === 100 ? 'breach' : 'warning', detail: w.id });
          }
        };
        // The topic's window: what falls due within it after the topic's first due item goes out
        // with it, in one message (a breach a few seconds ahead says when its deadline is).
        const inTopic = store.incidentsInTopic(slot.ref, { openOnly: true });
        const dueIds = new Set(slot.due.map((i) => i.eventId));
        const all = [...slot.due, ...inTopic.filter((i) => !dueIds.has(i.eventId))];
        const first = Math.min(...slot.due.map((i) => i.timers?.nextDueAt ?? now));
        const horizon = Math.max(now, first + Math.min(...all.map((i) => coalesceWindow(i, sla))));
        const owing = all.filter((i) => {
          const due = reminderDueAt(i, sla);
          return due !== undefined && (due <= now || (due <= horizon && remindable(i, sla, now)));
        });
        // The topic's cadence: when did it last get a reminder, and does it get one now?
        const lastAt = inTopic.reduce<number | undefined>((m, i) => (i.timers?.lastReminderAt !== undefined && (m === undefined || i.timers.lastReminderAt > m) ? i.timers.lastReminderAt : m), undefined);
        const remindsNow = owing.some((i) => topicHold(i, sla, horizon, lastAt) === undefined);
        const warnsBy = (i: Incident) => pendingWarnings(i, sla).some((w) => w.at <= horizon);
        for (const i of all) {
          if (remindsNow && remindable(i, sla, now)) record(fireDue(i, sla, now, { remindNow: true, until: horizon }));
          else if (dueIds.has(i.eventId) || warnsBy(i)) record(fireDue(i, sla, now, { holdReminderUntil: topicHold(i, sla, now, lastAt), until: horizon }));
        }
      }
      for (const slot of byTopic.values()) {
        if (slot.reminders.length === 0 && slot.warnings.length === 0) continue;
        const to = (i: Incident) => this.deps.addressee?.(i, now);
        this.deps.speaker.say(slot.ref.stream, slot.ref.topic, renderTopicRound(slot.reminders, slot.warnings, this.deps.sla, now, to, this.deps.timeZone, this.deps.escalation));
        result.messages++;
        result.reminders += slot.reminders.length;
        result.warnings += slot.warnings.filter((w) => w.warning.level === 75).length;
        result.breaches += slot.warnings.filter((w) => w.warning.level === 100).length;
      }
    });
    for (const k of Object.keys(result) as (keyof RoundResult)[]) this.totals[k] += result[k];
    if (result.messages > 0) this.deps.log.info({ ...result }, 'reminder round');
    return result;
  }
}
