/**
 * A fake Zulip with the SRE team's users and streams, a temporary directory and a bot config
 * with production settings (rate limit, log level and SLA defaults unless a scenario says otherwise).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeZulip, type FakeUser, type FakeZulipOptions } from '../../test/support/fake-zulip';
import { STREAMS } from '../../test/support/bot-process';
import { alertPost } from '../../test/support/factories';
import type { Severity } from '../../src/domain/classes';

export { STREAMS };

export interface World {
  fake: FakeZulip;
  bot: FakeUser;
  zabbix: FakeUser;
  ann: FakeUser;
  dir: string;
  configPath: string;
  dbPath: string;
  logPath: string;
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
  const bot = fake.addUser({ email: 'sre-bot@example.org', fullName: 'SRE Bot', isBot: true });
  const zabbix = fake.addUser({ email: 'zabbix-bot@example.org', fullName: 'Zabbix', isBot: true });
  const ann = fake.addUser({ email: 'ann@example.org', fullName: 'Ann Smith' });
  for (const s of Object.values(STREAMS)) {
    fake.addStream(s);
    for (const u of [bot, zabbix, ann]) fake.subscribe(u.email, s);
  }
  const dir = mkdtempSync(join(tmpdir(), 'sre-bot-bench-'));
  const configPath = join(dir, 'bot.config.json');
  const dbPath = join(dir, 'bot.db');
  // Production settings: log level info, rateLimit.perMinute and every SLA at their defaults.
  const config = {
    zulip: { site: fake.url, email: bot.email, apiKey: bot.apiKey },
    alerts: { senders: [zabbix.email] },
    store: { path: dbPath },
    log: { level: 'info' },
    ...opts.config,
  };
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  return {
    fake,
    bot,
    zabbix,
    ann,
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

export const CLASS_STREAM: Record<'critical' | 'non-critical' | 'informational', string> = {
  critical: STREAMS.critical,
  'non-critical': STREAMS.nonCritical,
  informational: STREAMS.informational,
};

export function classOf(s: Severity): 'critical' | 'non-critical' | 'informational' {
  if (s === 'Disaster' || s === 'High') return 'critical';
  if (s === 'Average' || s === 'Warning') return 'non-critical';
  return 'informational';
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
  const m = w.fake.post(w.zabbix.email, CLASS_STREAM[classOf(a.severity)], a.host, alertPost(a), {
    client: 'ZulipZabbixWebhook',
    ...(timestamp !== undefined ? { timestamp } : {}),
  });
  return m.id;
}
