/**
 * The incidents' own state changes the pipeline asks for before any module hook runs: what an
 * alert post does to its incident, and incidents following their topic when it is renamed or
 * moved. Each is one transaction (an alert's is the pipeline's, shared with the modules' hooks).
 */
import type { Clock } from '../../core/clock';
import type { Logger } from '../../core/log';
import type { ParseResult, ZabbixAlert } from '../../domain/alert';
import { applyAlert, resolve, type AlertOutcome, type AlertPost, type Incident, type TopicRef } from '../../domain/incident';
import type { SlaConfig } from '../../domain/sla';
import { schedule } from '../../domain/timers';
import type { IncidentStore, Transactional } from '../../store/store';
import type { Intake } from '../../pipeline/pipeline';
import type { StreamMessage } from '../../zulip/api';
import type { Speaker } from '../../zulip/speaker';
import { neutralizeMentions } from '../../core/text';

const outside = (text: string, max: number) => neutralizeMentions(text).slice(0, max);

export interface IntakeDeps {
  /** Reads an alert post (src/zabbix/parse-alert.ts). */
  parse: (content: string) => ParseResult;
  speaker: Speaker;
  store: IncidentStore & Transactional;
  sla: SlaConfig;
  clock: Clock;
  log: Logger;
}

export function createIntake({ store, sla, clock, log, speaker, parse }: IntakeDeps): Intake {
  /**
   * An OK whose event id is not tracked (its PROBLEM came under another event id, e.g. Zabbix
   * re-created the problem): it resolves the open incidents of the same trigger on the same host.
   */
  function resolveSameTrigger(alert: ZabbixAlert, post: AlertPost): AlertOutcome {
    const same = store.openIncidents().filter((i) => i.triggerId === alert.triggerId && i.host === alert.host && alert.triggerId !== '');
    let first: AlertOutcome | undefined;
    for (const i of same) {
      const incident = schedule({ ...resolve(i, { at: post.at, by: post.senderName, resolution: 'ok-alert' }), lastAlertMessageId: Math.max(i.lastAlertMessageId, post.messageId) }, sla);
      const entry = { eventId: i.eventId, at: post.at, kind: 'resolved' as const, actor: post.senderName, detail: `OK alert from Zabbix for event ${alert.eventId} (same trigger ${alert.triggerId} on ${alert.host})` };
      store.putIncident(incident, entry);
      first ??= { kind: 'resolved', incident, log: entry };
    }
    return first ?? { kind: 'ignored', reason: `OK for event ${alert.eventId}, which is not tracked (no open incident of trigger ${alert.triggerId} on ${alert.host} either)` };
  }

  return {
    alert(alert: ZabbixAlert, m: StreamMessage): AlertOutcome {
      // In the pipeline's transaction already (one per alert, with the modules' hooks): no savepoint of its own.
      const outcome = ((): AlertOutcome => {
        const post = { messageId: m.id, at: m.timestamp * 1000, stream: m.stream, topic: m.topic, senderName: m.senderName };
        const existing = store.getIncident(alert.eventId);
        if (!existing && alert.status === 'OK') return resolveSameTrigger(alert, post);
        const result = applyAlert(existing, alert, post);
        if (result.kind === 'ignored' || result.kind === 'replayed') return result;
        const incident = schedule(result.incident, sla);
        store.putIncident(incident, 'log' in result ? result.log : undefined, existing);
        return { ...result, incident };
      })();
      if (outcome.kind === 'replayed') log.info({ messageId: m.id, eventId: alert.eventId }, 'alert post handled before (replay after a restart); nothing changes');
      else if (outcome.kind === 'ignored') log.info({ messageId: m.id, eventId: alert.eventId, reason: outcome.reason }, 'alert changes nothing');
      // One line per alert post, repeats too (operators and the benchmark follow the posts by them).
      else log.info({ messageId: m.id, eventId: alert.eventId, outcome: outcome.kind, class: alert.incidentClass, host: alert.host }, `alert ${outcome.kind}: ${alert.host}: ${alert.triggerName}`);
      return outcome;
    },
    alertEdited(messageId: number, content: string) {
      const incident = store.openIncidents().find((i) => i.lastAlertMessageId === messageId || i.openedMessageId === messageId);
      if (!incident) return undefined;
      const parsed = parse(content);
      if (!parsed.ok || parsed.alert.eventId !== incident.eventId || parsed.alert.status !== 'OK') {
        log.info({ messageId, eventId: incident.eventId }, 'alert post edited; it still says PROBLEM (or is not readable): nothing changes');
        return undefined;
      }
      const now = clock.now();
      const message: StreamMessage = { id: messageId, streamId: 0, stream: incident.stream, topic: incident.topic, content, senderId: 0, senderEmail: '', senderName: 'Zabbix (edited post)', client: '', timestamp: Math.floor(now / 1000) };
      const outcome = store.transaction((): AlertOutcome => {
        const resolved = schedule(resolve(incident, { at: now, by: 'Zabbix (edited post)', resolution: 'ok-alert' }), sla);
        const entry = { eventId: incident.eventId, at: now, kind: 'resolved' as const, actor: 'Zabbix', detail: 'the alert post was edited to OK' };
        store.putIncident(resolved, entry);
        speaker.say(incident.stream, incident.topic, `✅ The alert post for **${outside(incident.triggerName, 200)}** (event ${incident.eventId}) was edited to OK: resolved.`);
        return { kind: 'resolved', incident: resolved, log: entry };
      });
      log.info({ messageId, eventId: incident.eventId }, 'alert post edited to OK: incident resolved');
      return { alert: parsed.alert, outcome, message };
    },
    alertsDeleted(messageIds: readonly number[]): void {
      const ids = new Set(messageIds);
      const gone = store.openIncidents().filter((i) => ids.has(i.openedMessageId) && (i.lastAlertMessageId === i.openedMessageId || ids.has(i.lastAlertMessageId)));
      if (gone.length === 0) return;
      const now = clock.now();
      store.transaction(() => {
        for (const i of gone) {
          store.putIncident(schedule(resolve(i, { at: now, by: 'Zulip (alert post deleted)', resolution: 'manual' }), sla), { eventId: i.eventId, at: now, kind: 'resolved', actor: 'Zulip', detail: 'its alert post was deleted' });
          speaker.say(i.stream, i.topic, `🗑️ The alert post for **${outside(i.triggerName, 200)}** (event ${i.eventId}) was deleted: no longer tracked here. If the problem is real, \`!track <class>\` tracks it by hand.`);
        }
      });
      log.info({ eventIds: gone.map((i) => i.eventId) }, 'alert posts deleted: incidents closed');
    },
    unreadable(m: StreamMessage, reason: string): void {
      speaker.say(m.stream, m.topic, `⚠️ I could not read this post from ${outside(m.senderName, 60)} as a Zabbix alert (${outside(reason, 200)}), so it is **not tracked**. If it is a problem, \`!track <class>\` here tracks it by hand.`);
    },
    topicMoved(from: TopicRef, to: TopicRef): Incident[] {
      return store.transaction(() => {
        const incidents = store.incidentsInTopic(from);
        if (incidents.length === 0) return [];
        store.moveTopic(from, to);
        const at = clock.now();
        for (const i of incidents) store.addLog({ eventId: i.eventId, at, kind: 'moved', detail: `${from.stream} > ${from.topic} → ${to.stream} > ${to.topic}` });
        return incidents.map((i) => ({ ...i, ...to }));
      });
    },
  };
}
