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

async function start(overrides: Record<string, unknown> = {}): Promise<void> {
  bot = await inProcessBot({ at: MONDAY, config: { timezone: 'Europe/Amsterdam', ...overrides } });
}

/** Posts the alert; returns what the bot said since the last look. */
async function alert(a: AlertInput): Promise<Reply[]> {
  await bot.alert(a);
  return bot.replies();
}

/** What the bot said since the last look. */
const said = (): Reply[] => bot.replies();
/** One scheduler round at the current time. */
const tick = () => bot.app.tick(bot.clock.now());

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

test('several hosts at once: one message in the general topic of the critical stream, follow-ups batched', async () => {
  await start({ runbook: { storm: { hosts: 3, within: '5m', followUpEvery: '1m' } } });
  const hosts = ['hv-01', 'vm-01', 'vm-02', 'vm-03', 'vm-04', 'vm-05'];
  const all: Reply[] = [];
  for (const [i, host] of hosts.slice(0, 5).entries()) {
    all.push(...(await alert({ host: `${host}.example.org`, eventId: String(100 + i), triggerId: String(200 + i), trigger: i === 0 ? 'Host is unreachable' : `HTTPS is down on ${host}.example.org` })));
    await bot.advance(2_000); // the burst settles
    all.push(...said());
    bot.clock.advance(8_000);
  }
  const storm = all.filter((m) => m.topic === 'Several hosts down');
  expect(storm).toHaveLength(1);
  expect(storm[0]!.stream).toBe('SRE # Critical');
  expect(storm[0]!.content.split('\n')).toEqual([
    expect.stringMatching(/^🌩️ \*\*Critical problems on 4 hosts within 5m\.\*\* .*shared cause/),
    '- **hv-01.example.org**: Host is unreachable — #**SRE # Critical>hv-01.example.org**',
    '- **vm-01.example.org**: HTTPS is down on vm-01.example.org — #**SRE # Critical>vm-01.example.org**',
    '- **vm-02.example.org**: HTTPS is down on vm-02.example.org — #**SRE # Critical>vm-02.example.org**',
    '- **vm-03.example.org**: HTTPS is down on vm-03.example.org — #**SRE # Critical>vm-03.example.org**',
  ]);
  // vm-04 came 10 s after the announcement: appended by a scheduler round a minute after it.
  await bot.advance(20_000);
  expect(said().filter((m) => m.topic === 'Several hosts down')).toEqual([]);
  await bot.advance(24_000);
  expect(said().filter((m) => m.topic === 'Several hosts down').map((m) => m.content)).toEqual([
    '🌩️ More hosts in the same storm (5 hosts now):\n- **vm-04.example.org**: HTTPS is down on vm-04.example.org — #**SRE # Critical>vm-04.example.org**',
  ]);
  // Quiet for longer than the window: over. Non-critical alerts never count.
  await bot.advance(6 * 60_000);
  for (const [i, host] of ['db-01', 'db-02', 'db-03', 'db-04', 'db-05'].entries()) await alert({ host, eventId: String(300 + i), triggerId: String(400 + i), trigger: 'Disk is slow', severity: 'Warning' });
  tick();
  expect(said().filter((m) => m.topic === 'Several hosts down')).toEqual([]);
  expect(bot.store.getState('runbook.storm')).toBe('');
});

test('the storm survives a restart (no second announcement)', async () => {
  await start();
  const before: Reply[] = [];
  for (const [i, host] of ['a', 'b', 'c', 'd'].entries()) before.push(...(await alert({ host, eventId: String(500 + i), triggerId: String(600 + i), trigger: 'Host is unreachable' })));
  await bot.advance(2_000);
  before.push(...said());
  expect(before.filter((m) => m.topic === 'Several hosts down')).toHaveLength(1);
  await bot.restart(); // a new app over the same store
  bot.clock.advance(5_000);
  await alert({ host: 'e', eventId: '600', triggerId: '700', trigger: 'Host is unreachable' });
  await bot.advance(2_000);
  expect(said().filter((m) => m.topic === 'Several hosts down')).toEqual([]);
});

test('alerts arriving together are named together in one message (looked at once the burst settles)', async () => {
  await start();
  for (const [i, host] of ['a', 'b', 'c', 'd', 'e'].entries()) {
    await alert({ host, eventId: String(800 + i), triggerId: String(900 + i), trigger: 'Host is unreachable' });
    await bot.advance(300); // rounds during the burst: not yet
  }
  expect(said().filter((m) => m.topic === 'Several hosts down')).toEqual([]);
  await bot.advance(1_500);
  const storm = said().filter((m) => m.topic === 'Several hosts down');
  expect(storm).toHaveLength(1);
  expect(storm[0]!.content).toMatch(/^🌩️ \*\*Critical problems on 5 hosts within 5m\.\*\*/);
  await bot.advance(2 * 60_000);
  expect(said()).toEqual([]);
});

test('a long burst is looked at 10 s after its first alert at the latest', async () => {
  await start();
  let announcedAt: number | undefined;
  for (let i = 0; i < 30 && announcedAt === undefined; i++) {
    await alert({ host: `h-${i}`, eventId: String(1000 + i), triggerId: String(1100 + i), trigger: 'Host is unreachable' });
    await bot.advance(500);
    if (said().some((m) => m.topic === 'Several hosts down')) announcedAt = i;
  }
  expect(announcedAt).toBe(19); // the 20th alert, 10 s after the first
});
