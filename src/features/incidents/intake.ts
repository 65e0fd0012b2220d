/**
 * The incidents' own state changes the pipeline asks for before any module hook runs: what an
 * alert post does to its incident, and incidents following their topic when it is renamed or
 * moved. Each is one transaction.
 */
import type { Clock } from '../../core/clock';
import type { Logger } from '../../core/log';
import type { ZabbixAlert } from '../../domain/alert';
import { applyAlert, type AlertOutcome, type Incident, type TopicRef } from '../../domain/incident';
import type { SlaConfig } from '../../domain/sla';
import { schedule } from '../../domain/timers';
import type { IncidentStore, Transactional } from '../../store/store';
import type { Intake } from '../../pipeline/pipeline';
import type { StreamMessage } from '../../zulip/api';

export interface IntakeDeps {
  store: IncidentStore & Transactional;
  sla: SlaConfig;
  clock: Clock;
  log: Logger;
}

export function createIntake({ store, sla, clock, log }: IntakeDeps): Intake {
  return {
    alert(alert: ZabbixAlert, m: StreamMessage): AlertOutcome {
      const outcome = store.transaction((): AlertOutcome => {
        const result = applyAlert(store.getIncident(alert.eventId), alert, { messageId: m.id, at: m.timestamp * 1000, stream: m.stream, topic: m.topic, senderName: m.senderName });
        if (result.kind === 'ignored' || result.kind === 'replayed') return result;
        const incident = schedule(result.incident, sla);
        store.putIncident(incident, result.log);
        return { ...result, incident };
      });
      if (outcome.kind === 'replayed') log.info({ messageId: m.id, eventId: alert.eventId }, 'alert post handled before (replay after a restart); nothing changes');
      else if (outcome.kind === 'ignored') log.info({ messageId: m.id, eventId: alert.eventId, reason: outcome.reason }, 'alert changes nothing');
      else log.info({ messageId: m.id, eventId: alert.eventId, outcome: outcome.kind, class: alert.incidentClass, host: alert.host }, `alert ${outcome.kind}: ${alert.host}: ${alert.triggerName}`);
      return outcome;
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
