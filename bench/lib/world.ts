/**
 * A fake Zulip with the SRE team's users and streams, a temporary directory and a bot config
 * (the test suites' world: test/support/bot-process.ts), with production settings (rate limit,
 * log level and SLA defaults unless a scenario says otherwise).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { FakeZulip, type FakeZulipOptions } from '../../test/support/fake-zulip';
import { populate, STREAMS, writeConfig, type World as TeamWorld } from '../../test/support/bot-process';
import { alertPost } from '../../test/support/factories';
import { SEVERITY_CLASS, streamForClass, type Severity } from '../../src/domain/classes';

export { STREAMS };

export interface World extends TeamWorld {
  dbPath: string;
  logPath: string;
  /** Stops the fake and removes the temp dir (unless `keep`). */
  close(): Promise<void>;
}

export interface WorldOptions {
  fake?: FakeZulipOptions;
  /** Merged over the production config (top-level keys replace). */
  config?: Record<string, unknown>;
  keep?: boolean;
}

export async function startWorld(opts: WorldOptions = {}): Promise<World> {
  const fake = await FakeZulip.start(opts.fake ?? {});
  const team = populate(fake);
  // Production settings: log level info, rateLimit.perMinute and every SLA at their defaults.
  const { dir, configPath, dbPath } = writeConfig(fake, team, 'sre-bot-bench-', { log: { level: 'info' }, ...opts.config });
  return {
    fake,
    ...team,
    dir,
    configPath,
    dbPath,
    logPath: join(dir, 'bot.log'),
    async close() {
      await fake.stop();
      if (!opts.keep) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface AlertSpec {
  status?: 'PROBLEM' | 'OK';
  severity: Severity;
  host: string;
  eventId: string;
  triggerId: string;
  trigger: string;
  item: string;
}

/** Posts a Zabbix alert the way Zulip's integration does: into topic <host> of its class's stream. */
export function postAlert(w: World, a: AlertSpec, timestamp?: number): number {
  const m = w.fake.post(w.zabbix.email, streamForClass(STREAMS, SEVERITY_CLASS[a.severity]), a.host, alertPost(a), {
    client: 'ZulipZabbixWebhook',
    ...(timestamp !== undefined ? { timestamp } : {}),
  });
  return m.id;
}
