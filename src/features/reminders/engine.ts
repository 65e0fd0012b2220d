/**
 * The reminder engine: each round, fires the SLA timers that fell due, once, and posts one
 * message per topic. Timer state and the outgoing messages are written in one transaction, so
 * a crash either did the round or did not: never half, never twice.
 */
import type { SlaConfig } from '../../domain/sla';
import type { Logger } from '../../core/log';
import type { Incident, TopicRef } from '../../domain/incident';
import { fireDue, type FiredReminder, type WarningDue } from '../../domain/timers';
import type { IncidentStore, Transactional } from '../../store/store';
import type { Speaker } from '../../zulip/speaker';
import { renderTopicRound, type Addressee } from './render';

export interface ReminderEngineDeps {
  store: IncidentStore & Transactional;
  speaker: Speaker;
  sla: SlaConfig;
  log: Logger;
  /** For the times shown in warnings. */
  timeZone: string;
  /** Who reminders in a topic are addressed to (handler, first responder), if anyone. */
  addressee?: (topic: TopicRef, now: number) => Addressee | undefined;
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
      const byTopic = new Map<string, { ref: TopicRef; reminders: FiredReminder[]; warnings: { warning: WarningDue; incident: Incident }[] }>();
      for (const incident of store.dueIncidents(now)) {
        const fired = fireDue(incident, this.deps.sla, now);
        store.putIncident(fired.incident);
        const key = `${incident.stream}\u0000${incident.topic}`;
        const slot = byTopic.get(key) ?? { ref: { stream: incident.stream, topic: incident.topic }, reminders: [], warnings: [] };
        byTopic.set(key, slot);
        if (fired.reminder) {
          slot.reminders.push(fired.reminder);
          store.addLog({ eventId: incident.eventId, at: now, kind: 'reminder', detail: `reminder #${fired.incident.timers?.remindersSent ?? 0}` });
        }
        for (const w of fired.warnings) {
          slot.warnings.push({ warning: w, incident: fired.incident });
          store.addLog({ eventId: incident.eventId, at: now, kind: w.level === 100 ? 'breach' : 'warning', detail: w.id });
        }
      }
      for (const slot of byTopic.values()) {
        if (slot.reminders.length === 0 && slot.warnings.length === 0) continue;
        const to = this.deps.addressee?.(slot.ref, now);
        this.deps.speaker.say(slot.ref.stream, slot.ref.topic, renderTopicRound(slot.reminders, slot.warnings, this.deps.sla, now, to, this.deps.timeZone));
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
