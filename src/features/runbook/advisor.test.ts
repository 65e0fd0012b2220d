/**
 * Runbook hints, the client prompt and the several-hosts notice through the whole app in-process
 * (real store, fake Zulip API, manual clock): once per topic and trigger, one message when both
 * apply, afresh after the topic is marked resolved.
 */
import { CLIENT_PROMPT } from './rules';
import { inProcessBot, type AlertInput, type InProcessBot, type Reply } from '../../../test/support/harness';

const MONDAY = Date.parse('2026-11-23T03:00:00Z');
const SUNDAY = Date.parse('2026-11-22T12:00:00Z');

let bot: InProcessBot;

/** `holds`: outbox items wait for their time as the sender makes them (a held first message stays queued until then). */
async function start(overrides: Record<string, unknown> = {}, holds = false): Promise<void> {
  bot = await inProcessBot({ at: MONDAY, holds, config: { timezone: 'Europe/Amsterdam', statusCard: { enabled: false }, ...overrides } });
}

/** Posts the alert; returns what the bot said since the last look. */
async function alert(a: AlertInput): Promise<Reply[]> {
  await bot.alert(a);
  return bot.replies();
}

/** What the bot said since the last look. */
const said = (): Reply[] => bot.replies();

const hints = (out: { content: string }[]) => out.filter((m) => m.content.includes('💡'));

test('SSH down (critical): the SSH hint once, no client prompt; a new event of the same trigger gets nothing', async () => {
  await start();
  const out = await alert({ eventId: '1', triggerId: '10', trigger: 'SSH service is down on web-01.example.org' });
  expect(out).toHaveLength(1);
  expect(out[0]!.topic).toBe('web-01.example.org');
  expect(out[0]!.content).toMatch(/^💡 \*\*Runbook — SSH service down:\*\* .*MaxStartups throttling.*journalctl -u ssh --since "2 hours ago" \| grep 'MaxStartups throttling'.*custom SSH configuration/);
  expect(out[0]!.content).not.toContain('Clients affected');
  expect(await alert({ eventId: '1', triggerId: '10', trigger: 'SSH service is down on web-01.example.org' })).toEqual([]); // repeat post
  expect(await alert({ eventId: '1', triggerId: '10', status: 'OK', trigger: 'SSH service is down on web-01.example.org' })).toEqual([]);
  expect(await alert({ eventId: '2', triggerId: '10', trigger: 'SSH service is down on web-01.example.org' })).toEqual([]); // flaps back: quiet
});

test('critical incidents: the client prompt once per topic, in the first bot message, silent for the exceptions', async () => {
  await start();
  expect(await alert({ eventId: '1', triggerId: '20', trigger: 'No backup for 3 days' })).toEqual([expect.objectContaining({ content: expect.stringMatching(/^💡 \*\*Runbook — No backup:\*\*/) })]);
  expect(await alert({ eventId: '2', triggerId: '21', trigger: 'SSL certificate is expiring in < 24 hours' })).toEqual([]);
  const https = await alert({ eventId: '3', triggerId: '22', trigger: 'HTTPS is down on web-01.example.org' });
  expect(https.map((m) => m.content)).toEqual([CLIENT_PROMPT]);
  expect(await alert({ eventId: '4', triggerId: '23', trigger: 'Website returns 502' })).toEqual([]);
  // Non-critical and informational never get the prompt.
  expect(await alert({ host: 'db-01', eventId: '5', triggerId: '24', trigger: 'HTTPS is slow', severity: 'Warning' })).toEqual([expect.objectContaining({ content: expect.stringMatching(/^📋/) })]);
  expect(await alert({ host: 'db-02', eventId: '6', triggerId: '25', trigger: 'HTTPS is down', severity: 'Information', stream: 'SRE ### Informational' })).toEqual([]);
});

test('hint and client prompt in one message when both apply; before the earlier-topic link', async () => {
  await start({ runbook: { rules: [{ name: 'Web', host: '^web-', class: 'critical', hint: 'check the load balancer first' }] } });
  // An earlier topic for the host, so linkEarlierTopic also speaks.
  await alert({ eventId: '1', triggerId: '30', trigger: 'Ping loss', severity: 'Warning' });
  said();
  const out = await alert({ eventId: '2', triggerId: '31', trigger: 'HTTPS is down on web-01.example.org' });
  expect(out.map((m) => m.content.slice(0, 2))).toEqual(['💡', '🔁']);
  expect(out[0]!.content).toBe(`💡 **Runbook — Web:** check the load balancer first\n\n${CLIENT_PROMPT}`);
});

test('the GitLab hint on Sunday only, for git.* hosts', async () => {
  await start();
  bot.clock.set(SUNDAY);
  expect(hints(await alert({ host: 'git.example.org', eventId: '1', triggerId: '40', trigger: 'HTTPS is down on git.example.org' }))[0]?.content).toMatch(/^💡 \*\*Runbook — GitLab update \(Sunday\):\*\*/);
  expect(hints(await alert({ host: 'web-09.example.org', eventId: '2', triggerId: '41', trigger: 'HTTPS is down on web-09.example.org' }))).toEqual([]);
  bot.clock.set(MONDAY);
  expect(hints(await alert({ host: 'git2.example.org', eventId: '3', triggerId: '42', trigger: 'HTTPS is down on git2.example.org' }))).toEqual([]);
});

test('after the topic is marked resolved, the next problem in the host topic gets its advice again', async () => {
  await start();
  await alert({ eventId: '1', triggerId: '10', trigger: 'SSH service is down on web-01.example.org' });
  await bot.moveTopic('web-01.example.org', '✔ web-01.example.org', 2);
  said();
  const out = await alert({ eventId: '2', triggerId: '10', trigger: 'SSH service is down on web-01.example.org' });
  expect(hints(out)).toHaveLength(1);
});

describe('storms: several hosts at once', () => {
  const STORM = 'Several hosts down';
  const crit = (host: string, n: number, trigger = `HTTPS is down on ${host}`) => bot.alert({ host, eventId: String(1000 + n), triggerId: String(2000 + n), trigger });
  /** The summary as it reads now: the card's first post, or its latest edit. */
  const summary = (): string | undefined => {
    const posted = bot.all().filter((m) => m.topic === STORM);
    const edits = bot.cardEdits().filter((e) => e.key === posted[0]?.card);
    return edits.at(-1)?.content ?? posted[0]?.content;
  };
  const inHostTopics = (out: Reply[]) => out.filter((m) => m.topic !== STORM);

  test('a lone critical problem: its advice waits a second in the outbox, then goes out in its topic', async () => {
    await start({}, true);
    await crit('web-01.example.org', 1);
    expect(said()).toEqual([]);
    await bot.advance(1_000);
    expect(said().map((m) => [m.topic, m.content])).toEqual([['web-01.example.org', CLIENT_PROMPT]]);
  });

  test('five hosts at once: no per-topic first messages, one summary card; hosts join and resolve by edits; over after the quiet period', async () => {
    await start({}, true);
    const hosts = ['hv-01', 'vm-01', 'vm-02', 'vm-03', 'vm-04'].map((h) => `${h}.example.org`);
    for (const [i, host] of hosts.entries()) {
      await crit(host, i, i === 0 ? 'Host is unreachable' : undefined);
      await bot.advance(200, { tick: false });
    }
    // A non-critical problem of a storm host: its checklist goes into the summary too.
    await bot.alert({ host: 'vm-01.example.org', eventId: '50', triggerId: '60', trigger: 'Free disk space is less than 20% on /var', severity: 'Warning' });
    await bot.advance(1_000);
    const out = said();
    expect(inHostTopics(out)).toEqual([]);
    const card = out.filter((m) => m.topic === STORM);
    expect(card).toHaveLength(1);
    expect(card[0]).toMatchObject({ stream: 'SRE # Critical', card: expect.stringMatching(/^storm:\d+$/) });
    const first = card[0]!.content;
    expect(first).toMatch(/^🌩️ \*\*Storm: critical problems on 5 hosts\*\* since 2026-11-23 04:00 CET — 5 open, 0 resolved\. That is likely one shared cause/);
    expect(first).toContain(`**Said here once instead of in each host's topic:**\n${CLIENT_PROMPT}`);
    expect(first).toContain('📋 The non-critical checklists of 1 topic of these hosts were not posted: `!names` in a topic gives');
    expect(first.split('\n').filter((l) => /^- (\*\*|✅)/.test(l))).toEqual([
      '- **hv-01.example.org**: Host is unreachable — #**SRE # Critical>hv-01.example.org**',
      '- **vm-01.example.org**: HTTPS is down on vm-01.example.org — #**SRE # Critical>vm-01.example.org**',
      '- **vm-02.example.org**: HTTPS is down on vm-02.example.org — #**SRE # Critical>vm-02.example.org**',
      '- **vm-03.example.org**: HTTPS is down on vm-03.example.org — #**SRE # Critical>vm-03.example.org**',
      '- **vm-04.example.org**: HTTPS is down on vm-04.example.org — #**SRE # Critical>vm-04.example.org**',
    ]);
    expect(bot.store.pendingFor('SRE # Critical', 'hv-01.example.org')).toBe(0); // the held advice is gone, not merely late

    // A host joins 10 s later; one resolves by Zabbix's OK, one by ✔: the same message, edited.
    await bot.advance(10_000);
    await crit('vm-05.example.org', 9);
    await bot.alert({ host: 'vm-01.example.org', eventId: '1001', triggerId: '2001', trigger: 'HTTPS is down on vm-01.example.org', status: 'OK' });
    await bot.moveTopic('vm-02.example.org', '✔ vm-02.example.org');
    await bot.advance(1_000);
    expect(inHostTopics(said()).filter((m) => !m.content.startsWith('✅') && !m.content.startsWith('ℹ️') && !m.content.startsWith('⚠️'))).toEqual([]);
    expect(bot.cardEdits()).toEqual([]); // at most every followUpEvery (15s)
    await bot.advance(5_000);
    const edited = summary()!;
    expect(bot.cardEdits()).toHaveLength(1);
    expect(bot.all().filter((m) => m.topic === STORM)).toHaveLength(1);
    expect(edited).toMatch(/^🌩️ \*\*Storm: critical problems on 6 hosts\*\* .* — 4 open, 2 resolved\./);
    expect(edited).toContain('- ✅ ~~**vm-01.example.org**~~ — #**SRE # Critical>vm-01.example.org**');
    expect(edited).toContain('- ✅ ~~**vm-02.example.org**~~ — #**SRE # Critical>✔ vm-02.example.org**');
    expect(edited).toContain('- **vm-05.example.org**: HTTPS is down on vm-05.example.org — #**SRE # Critical>vm-05.example.org**');

    // Nothing new for the quiet period: the summary says the storm is over; the next storm is a new message.
    await bot.advance('11m');
    expect(summary()).toMatch(/^🌩️ \*\*Storm over\*\*: no new critical problem for 10m\. Critical problems on 6 hosts from 2026-11-23 04:00 CET to 2026-11-23 04:00 CET — 4 open, 2 resolved\./);
    expect(bot.store.getState('runbook.storm')).toBe('');
    said();
    for (const [i, host] of ['p', 'q', 'r', 's'].entries()) await crit(`${host}.example.org`, 100 + i);
    await bot.advance(1_000);
    const next = said().filter((m) => m.topic === STORM);
    expect(next).toHaveLength(1);
    expect(next[0]!.card).not.toBe(card[0]!.card);
    expect(next[0]!.content).toMatch(/^🌩️ \*\*Storm: critical problems on 4 hosts\*\*/);
  });

  test('three hosts is no storm: their advice goes out in their topics after the hold', async () => {
    await start({}, true);
    for (const [i, host] of ['a', 'b', 'c'].entries()) await crit(`${host}.example.org`, i);
    await bot.advance(1_000);
    const out = said();
    expect(out.map((m) => m.topic).sort()).toEqual(['a.example.org', 'b.example.org', 'c.example.org']);
    expect(out.every((m) => m.content === CLIENT_PROMPT)).toBe(true);
  });

  test('during a storm, a host not in it: its first messages wait, and go into the summary when its critical problem follows', async () => {
    await start({}, true);
    for (const [i, host] of ['a', 'b', 'c', 'd'].entries()) await crit(`${host}.example.org`, i);
    await bot.advance(1_000);
    said();
    await bot.alert({ host: 'e.example.org', eventId: '70', triggerId: '71', trigger: 'Free disk space is less than 20% on /var', severity: 'Warning' });
    await bot.advance(3_000);
    expect(inHostTopics(said())).toEqual([]);
    await crit('e.example.org', 8);
    await bot.advance(20_000);
    expect(inHostTopics(said())).toEqual([]);
    expect(summary()).toContain('📋 The non-critical checklists of 1 topic of these hosts were not posted');
    // A host that never joins gets its checklist once the longer hold is over.
    await bot.alert({ host: 'f.example.org', eventId: '80', triggerId: '81', trigger: 'Free disk space is less than 20% on /var', severity: 'Warning' });
    await bot.advance(5_000);
    expect(inHostTopics(said())).toEqual([]);
    await bot.advance(6_000);
    expect(inHostTopics(said()).map((m) => [m.topic, m.content.slice(0, 2)])).toEqual([['f.example.org', '📋']]);
  });

  test('a reminder due while a first message is held waits a round at most, not the storm\'s longer hold', async () => {
    await start({ sla: { nonCritical: { remindEvery: '3s' } } }, true);
    for (const [i, host] of ['a', 'b', 'c', 'd'].entries()) await crit(`${host}.example.org`, i);
    await bot.advance(1_000);
    said();
    await bot.alert({ host: 'f.example.org', eventId: '80', triggerId: '81', trigger: 'Free disk space is less than 20% on /var', severity: 'Warning' });
    await bot.advance(4_000);
    // The checklist still waits (a storm's 10 s hold for a host not in it); the reminder did not.
    expect(inHostTopics(said()).map((m) => [m.topic, m.content.slice(0, 1)])).toEqual([['f.example.org', '⏰']]);
    await bot.advance(7_000);
    expect(inHostTopics(said()).map((m) => m.content.slice(0, 2))).toContain('📋');
  });

  test('status cards (issue 18): none for a storm host\'s topic while the storm lasts; a lone critical topic gets its card after the hold', async () => {
    await start({ statusCard: { enabled: true } }, true);
    await crit('web-01.example.org', 1);
    await bot.advance(500);
    expect(said()).toEqual([]);
    await bot.advance(500);
    // The advice first; the card once the advice has gone.
    expect(said().map((m) => m.content)).toEqual([CLIENT_PROMPT]);
    await bot.advance(1_000);
    expect(said().map((m) => m.card)).toEqual(['status:SRE # Critical:web-01.example.org']);
    await bot.advance('10m');
    said();
    for (const [i, host] of ['a', 'b', 'c', 'd', 'e'].entries()) await crit(`${host}.example.org`, 10 + i);
    for (let k = 0; k < 5; k++) await bot.advance(1_000);
    await bot.say('!ack on it', { topic: 'a.example.org' });
    await bot.advance(1_000);
    const out = said();
    expect(out.filter((m) => m.card?.startsWith('status:'))).toEqual([]);
    expect(inHostTopics(out).map((m) => m.content.slice(0, 17))).toEqual(['✅ Acknowledged by']);
    expect(out.filter((m) => m.topic === STORM)).toHaveLength(1);
  });

  test('the storm survives a restart: the same summary is edited, no second one', async () => {
    await start({}, true);
    for (const [i, host] of ['a', 'b', 'c', 'd'].entries()) await crit(`${host}.example.org`, i);
    await bot.advance(1_000);
    expect(said().filter((m) => m.topic === STORM)).toHaveLength(1);
    await bot.restart(); // a new app over the same store
    await crit('e.example.org', 9);
    await bot.advance(16_000);
    expect(said().filter((m) => m.topic === STORM)).toEqual([]);
    expect(summary()).toMatch(/critical problems on 5 hosts/);
    expect(bot.all().filter((m) => m.topic === 'e.example.org')).toEqual([]);
  });

  test('non-critical alerts never start a storm', async () => {
    await start({}, true);
    for (const [i, host] of ['db-01', 'db-02', 'db-03', 'db-04', 'db-05'].entries()) await bot.alert({ host, eventId: String(300 + i), triggerId: String(400 + i), trigger: 'Disk is slow', severity: 'Warning' });
    await bot.advance(2_000);
    expect(said().filter((m) => m.topic === STORM)).toEqual([]);
  });

  test('the summary as it renders after 50 hosts joined and 5 resolved', async () => {
    await start({}, true);
    const host = (n: number) => `host-${String(n).padStart(3, '0')}.example.org`;
    const triggers = ['Host is unreachable for 5 minutes', 'HTTPS service is down', 'PostgreSQL is not running', 'SSH service is down on this host', 'No backup for 3 days'];
    for (let n = 1; n <= 50; n++) {
      await crit(host(n), n, triggers[n % 5 === 0 ? 0 : n % 7 === 0 ? 3 : n % 11 === 0 ? 4 : n % 2]);
      if (n % 3 === 0) await crit(host(n), 500 + n, triggers[2]);
      if (n % 10 === 0) await bot.alert({ host: host(n), eventId: String(900 + n), triggerId: String(950 + n), trigger: 'Free disk space is less than 20% on /var', severity: 'Warning' });
      await bot.advance(100, { tick: false });
    }
    // Five resolve: three by Zabbix's OK, two by ✔ on the topic.
    for (const n of [2, 4, 8]) await bot.alert({ host: host(n), eventId: String(1000 + n), triggerId: String(2000 + n), trigger: triggers[n % 2], status: 'OK' });
    for (const n of [13, 21]) await bot.moveTopic(host(n), `✔ ${host(n)}`);
    await bot.advance(16_000);
    const text = summary()!;
    expect(inHostTopics(bot.all()).filter((m) => m.content.includes('Clients affected') || m.content.startsWith('📋') || m.content.startsWith('💡'))).toEqual([]);
    expect(text).toMatch(/^🌩️ \*\*Storm: critical problems on 50 hosts\*\* .* — 45 open, 5 resolved\./);
    expect(text.length).toBeLessThan(10_000);
    expect(text.split('\n').filter((l) => l.startsWith('- ✅ ~~'))).toHaveLength(5);
    expect(text).toContain('💡 **Runbook — SSH service down:**');
    process.stdout.write(`\n--- the storm summary after 50 hosts joined and 5 resolved (${text.length} characters) ---\n${text}\n`);
  });
});
