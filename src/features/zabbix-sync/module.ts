/**
 * Zabbix, both ways (only when `zabbix.url` and a token are configured): a chat acknowledgement
 * is made in Zabbix by an after-commit job; the periodic sync (tick) brings Zabbix's
 * acknowledgements, resolutions and lost problems into the chat; its state is in /healthz.
 */
import type { BotModule } from '../../pipeline/module';
import { ZABBIX_ACK_JOB, ZabbixSync } from './sync';

export function zabbixSyncModule(sync: ZabbixSync): BotModule {
  return {
    name: 'zabbix-sync',
    jobs: [sync.acknowledgeJob],
    onIncidentChange: (change, jobs) => {
      if (change.kind !== 'acknowledged') return;
      const job = ZabbixSync.ackJob(change.incidents, change.by, change.note, change.where, change.messageId);
      if (job) jobs.enqueue(ZABBIX_ACK_JOB, job);
    },
    tick: (now) => sync.maybeRun(now),
    health: () => ({ configured: true, failing: sync.failing, lastOkAt: sync.lastOkAt ?? null, lastError: sync.lastError ?? null }),
  };
}
