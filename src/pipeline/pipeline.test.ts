/**
 * The pipeline through the whole app in-process (test/support/harness.ts): each module's hooks in
 * their own error boundary, the dispatcher's places, preconditions and errors, times in the team's
 * zone, and after-commit jobs that never hold up the message path.
 */
import { Metrics } from '../ops/metrics';
import type { BotModule } from './module';
import { UserFacingError } from './errors';
import type { ZabbixApi } from '../zabbix/client';
import { inProcessBot, type Reply } from '../../test/support/harness';

const SSH = 'SSH service is down on web-01.example.org';
const TOPIC = 'web-01.example.org';
const contents = (rs: Reply[]) => rs.map((r) => r.content);

function stubMetrics(): Metrics {
  return new Metrics({ botStats: () => ({ malformedAlerts: 0, commands: 0 }), openIncidents: () => [], outboxDepth: () => 0, registrations: () => 0 });
}

/** Puts `mod` just before the module named `before` (first when absent). */
function insertBefore(before: string | undefined, mod: BotModule) {
  return (list: BotModule[]): BotModule[] => {
    const at = before === undefined ? 0 : list.findIndex((m) => m.name === before);
    if (at < 0) throw new Error(`no module ${before}`);
    return [...list.slice(0, at), mod, ...list.slice(at)];
  };
}

describe('error boundaries', () => {
  test('a module whose onAlert throws does not stop the others: tracked, hint posted, counted', async () => {
    const metrics = stubMetrics();
    const boom: BotModule = {
      name: 'boom',
      onAlert: () => {
        throw new Error('boom');
      },
    };
    const bot = await inProcessBot({ metrics, modules: insertBefore(undefined, boom) });
    expect(bot.app.modules[0]?.name).toBe('boom');
    await bot.alert({ eventId: '7001', triggerId: '501', trigger: SSH });
    expect(bot.store.getIncident('7001')).toMatchObject({ status: 'open', topic: TOPIC, stream: 'SRE # Critical' });
    const out = bot.replies();
    expect(out.filter((r) => r.content.includes('💡'))).toEqual([expect.objectContaining({ stream: 'SRE # Critical', topic: TOPIC, content: expect.stringMatching(/^💡 \*\*Runbook — SSH service down:\*\*/) })]);
    expect(bot.app.pipeline.stats.hookErrors).toBe(1);
    const text = await metrics.registry.getSingleMetricAsString('sre_bot_module_errors_total');
    expect(text).toContain('sre_bot_module_errors_total{module="boom",hook="onAlert"} 1');
    // The metrics module (after boom) still counted the alert.
    expect(await metrics.registry.getSingleMetricAsString('sre_bot_alerts_received_total')).toContain('sre_bot_alerts_received_total{class="critical",outcome="opened"} 1');
  });

  test('an async onAlert that rejects is caught the same way', async () => {
    const metrics = stubMetrics();
    const boom: BotModule = { name: 'boom', onAlert: async () => Promise.reject(new Error('later')) };
    const bot = await inProcessBot({ metrics, modules: insertBefore(undefined, boom) });
    await bot.alert({ eventId: '7001', triggerId: '501', trigger: SSH });
    expect(contents(bot.replies()).some((c) => c.startsWith('💡'))).toBe(true);
    expect(await metrics.text()).toContain('sre_bot_module_errors_total{module="boom",hook="onAlert"} 1');
  });

  test('a failing tick of one module does not stop reminders', async () => {
    const metrics = stubMetrics();
    let ticks = 0;
    const boom: BotModule = {
      name: 'boom',
      tick: () => {
        ticks++;
        throw new Error('tick failed');
      },
    };
    const bot = await inProcessBot({ metrics, modules: insertBefore('reminders', boom) });
    const names = bot.app.modules.map((m) => m.name);
    expect(names.indexOf('boom')).toBe(names.indexOf('reminders') - 1);
    expect(bot.config.sla.critical.remindEvery).toBe(3_600_000);
    await bot.alert({ eventId: '7001', triggerId: '501', trigger: SSH });
    bot.replies();
    await bot.advance('59m');
    expect(contents(bot.replies()).filter((c) => c.startsWith('⏰ **Reminder**'))).toEqual([]);
    await bot.advance('2m');
    const reminders = bot.replies().filter((r) => r.content.startsWith('⏰ **Reminder**'));
    expect(reminders).toEqual([expect.objectContaining({ stream: 'SRE # Critical', topic: TOPIC })]);
    expect(ticks).toBe(2);
    expect(await metrics.text()).toContain('sre_bot_module_errors_total{module="boom",hook="tick"} 2');
  });

  test('a failing onIncidentChange does not undo the command or stop the other modules', async () => {
    const seen: string[] = [];
    const boom: BotModule = {
      name: 'boom',
      onIncidentChange: () => {
        throw new Error('boom');
      },
    };
    const after: BotModule = { name: 'after', onIncidentChange: (c) => void seen.push(c.kind) };
    const bot = await inProcessBot({ modules: (list) => [boom, ...list, after] });
    await bot.alert({ eventId: '7001', triggerId: '501', trigger: SSH });
    bot.replies();
    await bot.say('!ack on it', { topic: TOPIC });
    expect(contents(bot.replies())).toEqual([expect.stringMatching(/^✅ Acknowledged by Ann Smith: /)]);
    expect(bot.store.getIncident('7001')?.status).toBe('acknowledged');
    expect(seen).toEqual(['acknowledged']);
    expect(bot.app.pipeline.stats.hookErrors).toBe(1);
  });
});

describe('times in the team’s zone', () => {
  async function snoozeReply(timezone: string): Promise<string> {
    const bot = await inProcessBot({ config: { timezone } }); // Monday 2026-11-23 09:00 UTC
    await bot.alert({ eventId: '7001', triggerId: '501', trigger: SSH });
    bot.replies();
    await bot.say('!snooze 2h', { topic: TOPIC });
    const [reply, ...rest] = contents(bot.replies());
    expect(rest).toEqual([]);
    expect(reply).toMatch(/^😴 Reminders in this topic paused by Ann Smith for 2h 00m, until /);
    return reply as string;
  }

  test('Europe/Amsterdam: CET in November, not UTC', async () => {
    const reply = await snoozeReply('Europe/Amsterdam');
    expect(reply).toContain('until 2026-11-23 12:00 CET.');
    expect(reply).not.toContain('UTC');
    expect(reply).not.toContain('11:00');
  });

  test('America/New_York: New York local time, not UTC', async () => {
    const reply = await snoozeReply('America/New_York');
    expect(reply).toContain('until 2026-11-23 06:00 ');
    expect(reply).not.toContain('UTC');
  });

  test('America/New_York: the zone is named EST', async () => {
    const reply = await snoozeReply('America/New_York');
    expect(reply).toContain('until 2026-11-23 06:00 EST.');
  });
});

describe('dispatcher', () => {
  test('a `topic` command in a direct message is refused: it changes state', async () => {
    const bot = await inProcessBot();
    await bot.alert({ eventId: '7001', triggerId: '501', trigger: SSH });
    bot.replies();
    await bot.dm('!ack');
    await bot.dm('!ack 7001 on it', 'bob');
    const [plain, withArgs, ...rest] = bot.replies();
    expect(rest).toEqual([]);
    expect(plain).toMatchObject({ to: ['ann@example.org'] });
    expect(plain!.content).toMatch(/^`!ack` changes state: type it in an SRE stream, in the incident's topic\. Here I answer .*`!ongoing`/);
    expect(plain!.content).not.toContain('Usage:');
    expect(withArgs).toMatchObject({ to: ['bob@example.org'] });
    expect(withArgs!.content).toMatch(/^`!ack …` changes state/);
    expect(bot.store.getIncident('7001')?.status).toBe('open');
  });

  test('!ongoing in a direct message is answered there', async () => {
    const bot = await inProcessBot();
    await bot.dm('!ongoing');
    expect(bot.replies()).toEqual([{ to: ['ann@example.org'], content: 'No open incidents. :check: Nothing is firing that the bot knows of.' }]);
    await bot.alert({ eventId: '7001', triggerId: '501', trigger: SSH });
    bot.replies();
    await bot.dm('!ongoing', 'bob');
    const out = bot.replies();
    expect(out.length).toBeGreaterThan(0);
    expect(out.every((r) => r.to?.[0] === 'bob@example.org' && r.stream === undefined)).toBe(true);
    expect(out.map((r) => r.content).join('\n')).toContain(SSH);
  });

  test('a direct message that is no command points to the SRE streams', async () => {
    const bot = await inProcessBot();
    await bot.dm('hello?');
    const [r] = bot.replies();
    expect(r!.content).toMatch(/^I answer read-only commands here \(.*`!ongoing`.*\); everything else goes in the SRE streams\.$/);
    expect(r!.content).not.toContain('`!ack`');
  });

  test('!recheck without Zabbix gets the precondition’s text', async () => {
    const bot = await inProcessBot();
    await bot.alert({ eventId: '7001', triggerId: '501', trigger: SSH });
    bot.replies();
    await bot.say('!recheck', { topic: TOPIC });
    const [r, ...rest] = bot.replies();
    expect(rest).toEqual([]);
    expect(r).toMatchObject({ stream: 'SRE # Critical', topic: TOPIC });
    expect(r!.content).toContain('needs the Zabbix API');
    expect(r!.content).not.toContain('Usage:');
  });

  test('a UserFacingError with code usage renders the usage line', async () => {
    const bot = await inProcessBot();
    await bot.say('!snooze', { topic: TOPIC });
    await bot.say('!snooze soon', { topic: TOPIC });
    expect(contents(bot.replies())).toEqual(['Say for how long.\nUsage: `!snooze <duration>`', '"soon" is not a duration like "30m" or "2h".\nUsage: `!snooze <duration>`']);
  });

  test('a module’s own UserFacingError and an internal error: rendered, and what the command queued is dropped', async () => {
    const enqueued: unknown[] = [];
    const mod: BotModule = {
      name: 'probe',
      jobs: [{ kind: 'probe.job', run: async (p: never) => void enqueued.push(p) }],
      commands: [
        {
          name: 'probe',
          usage: '!probe <what>',
          summary: 'test',
          run: (ctx) => {
            ctx.reply('first words');
            ctx.enqueue('probe.job', { args: ctx.args });
            if (ctx.args === 'usage') throw new UserFacingError('usage', 'Say what.');
            if (ctx.args === 'refused') throw new UserFacingError('refused', 'Not you.');
            if (ctx.args === 'crash') throw new Error('internal');
            ctx.reply('done');
          },
        },
      ],
    };
    const bot = await inProcessBot({ modules: (list) => [...list, mod] });
    await bot.say('!probe usage');
    await bot.say('!probe refused');
    await bot.say('!probe crash');
    expect(contents(bot.replies())).toEqual([
      'first words',
      'Say what.\nUsage: `!probe <what>`',
      'first words',
      'Not you.',
      'first words',
      'Sorry, `!probe` failed with an internal error (logged). Usage: `!probe <what>`',
    ]);
    expect(bot.store.jobCount()).toBe(0);
    expect(enqueued).toEqual([]);
    await bot.say('!probe ok');
    expect(contents(bot.replies())).toEqual(['first words', 'done']);
    expect(enqueued).toEqual([{ args: 'ok' }]);
  });

  test('an unknown command gets suggestions; the bot’s own messages are ignored', async () => {
    const bot = await inProcessBot();
    await bot.say('!ongoin');
    expect(contents(bot.replies())).toEqual(['Unknown command `!ongoin`. Did you mean `!ongoing`? Type `!help` for the list.']);
    await bot.say('!help', { as: { id: 1, email: 'sre-bot@example.org', fullName: 'SRE Bot' } });
    expect(bot.replies()).toEqual([]);
  });
});

/** A Zabbix whose acknowledge calls the test settles by hand. */
class HeldZabbix implements ZabbixApi {
  readonly acks: { eventIds: readonly string[]; message: string; resolve: () => void; reject: (e: Error) => void }[] = [];
  /** When set, acknowledge settles at once with this behaviour instead of waiting. */
  script: ('fail' | 'ok')[] | undefined;
  async version() {
    return '7.0.0';
  }
  async problems() {
    return [];
  }
  async events() {
    return [];
  }
  acknowledge(eventIds: readonly string[], message: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.acks.push({ eventIds, message, resolve, reject });
      const next = this.script?.shift();
      if (next === 'fail') reject(new Error('Zabbix event.acknowledge: HTTP 502'));
      else if (next === 'ok') resolve();
    });
  }
  async triggerItems() {
    return [];
  }
  async checkNow() {
    return [];
  }
}

describe('after-commit jobs', () => {
  test('!ack is answered before Zabbix answers, and other commands meanwhile; the job is gone once it resolves', async () => {
    const zabbix = new HeldZabbix();
    const bot = await inProcessBot({ zabbix });
    await bot.alert({ eventId: '7001', triggerId: '501', trigger: SSH });
    bot.replies();
    await bot.say('!ack on it', { topic: TOPIC, jobs: 'start' });
    expect(contents(bot.replies())).toEqual([expect.stringMatching(/^✅ Acknowledged by Ann Smith: SSH service is down on web-01\.example\.org \(event 7001\)\. Note: on it/)]);
    expect(zabbix.acks.map((a) => ({ eventIds: a.eventIds, message: a.message }))).toEqual([{ eventIds: ['7001'], message: 'on it — Ann Smith (via Zulip)' }]);
    expect(bot.store.jobCount()).toBe(1);
    await bot.say('!help', { topic: TOPIC, jobs: 'start' });
    expect(contents(bot.replies())[0]).toMatch(/^\*\*Commands\*\*/);
    expect(zabbix.acks).toHaveLength(1); // the running job is not started twice
    zabbix.acks[0]!.resolve();
    await bot.app.jobs.runDue();
    expect(bot.store.jobCount()).toBe(0);
    expect(bot.app.jobs.stats).toMatchObject({ done: 1, failed: 0 });
    expect(bot.replies()).toEqual([]);
  });

  test('a failing acknowledge is said once, retried after its backoff, and the job stays until it succeeds', async () => {
    const zabbix = new HeldZabbix();
    zabbix.script = ['fail', 'fail', 'ok'];
    const bot = await inProcessBot({ zabbix });
    await bot.alert({ eventId: '7001', triggerId: '501', trigger: SSH });
    bot.replies();
    const warnings = () => bot.all().filter((r) => r.content.startsWith('⚠️ Could not acknowledge in Zabbix yet'));

    await bot.say('!ack', { topic: TOPIC }); // first attempt: fails
    expect(zabbix.acks).toHaveLength(1);
    expect(bot.store.jobCount()).toBe(1);
    expect(warnings()).toEqual([expect.objectContaining({ stream: 'SRE # Critical', topic: TOPIC, content: expect.stringContaining('HTTP 502') })]);

    await bot.runJobs(); // not due yet: the backoff is on the app's clock
    expect(zabbix.acks).toHaveLength(1);

    await bot.advance('2s', { tick: false }); // first backoff: 2 s; second attempt fails
    expect(zabbix.acks).toHaveLength(2);
    expect(bot.store.jobCount()).toBe(1);
    expect(warnings()).toHaveLength(1);

    await bot.advance('4s', { tick: false }); // second backoff: 2–4 s; third attempt succeeds
    expect(zabbix.acks).toHaveLength(3);
    expect(bot.store.jobCount()).toBe(0);
    expect(warnings()).toHaveLength(1);
    expect(bot.app.jobs.stats).toMatchObject({ done: 1, failed: 2, gaveUp: 0 });
  });

  test('a job waiting for its retry survives a restart and is not reported twice', async () => {
    const zabbix = new HeldZabbix();
    zabbix.script = ['fail', 'fail', 'ok'];
    const bot = await inProcessBot({ zabbix });
    await bot.alert({ eventId: '7001', triggerId: '501', trigger: SSH });
    await bot.say('!ack', { topic: TOPIC });
    expect(bot.store.jobCount()).toBe(1);
    await bot.restart();
    await bot.advance('2s', { tick: false });
    await bot.advance('4s', { tick: false });
    expect(zabbix.acks).toHaveLength(3);
    expect(bot.store.jobCount()).toBe(0);
    expect(bot.all().filter((r) => r.content.startsWith('⚠️ Could not acknowledge in Zabbix yet'))).toHaveLength(1);
  });
});
