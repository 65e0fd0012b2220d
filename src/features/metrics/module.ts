/** Prometheus figures the modules' events feed: alerts by class and outcome, time to acknowledge. */
import type { Metrics } from '../../ops/metrics';
import type { BotModule } from '../../pipeline/module';

export function metricsModule(metrics: Metrics, now: () => number): BotModule {
  return {
    name: 'metrics',
    onAlert: ({ alert, outcome }) => {
      metrics.alerts.inc({ class: alert.incidentClass, outcome: outcome.kind });
    },
    onIncidentChange: (change) => {
      if (change.kind !== 'acknowledged') return;
      for (const i of change.incidents) metrics.timeToAck.observe({ class: i.incidentClass }, Math.max(0, (now() - i.openedAt) / 1000));
    },
  };
}
