/** /healthz and /metrics on the running bot: the numbers move with what happens. */
import type { FakeZulip } from '../support/fake-zulip';
import { type BotProcess, startWorld, stopWorld, STREAMS, type World } from '../support/bot-process';
import { alertPost } from '../support/factories';

jest.setTimeout(60_000);

let fake: FakeZulip;
let w: World;
let bot: BotProcess | undefined;

beforeEach(async () => {
  ({ fake, w, bot } = await startWorld({ http: { port: 0 }, sla: { critical: { remindEvery: '1s', resolveWithin: '4s' } } }));
});

afterEach(() => stopWorld({ fake, bot }));

function metric(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

test('metrics and health follow alerts, reminders, breaches, commands, errors and queue re-registrations', async () => {
  const port = Number((await bot!.waitForLog((l) => l.msg !== undefined && String(l.msg).startsWith('http listening'))).port);
  const get = async (path: string) => {
    const r = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: r.status, text: await r.text() };
  };
  const h0 = await get('/healthz');
  expect(h0.status).toBe(200);
  expect(JSON.parse(h0.text)).toMatchObject({ ok: true, zulip: { ok: true, registrations: 1 }, store: { ok: true }, zabbix: { configured: false } });
  const m0 = (await get('/metrics')).text;
  expect(metric(m0, 'sre_bot_incidents_open', 'class="critical",state="open"')).toBe(0);

  const p = fake.post(w.zabbix.email, STREAMS.critical, 'web-01', alertPost({ host: 'web-01', eventId: '1', trigger: 'Down' }));
  fake.post(w.zabbix.email, STREAMS.critical, 'web-01', 'PROBLEM (Bogus) alert on nothing');
  await bot!.waitForLog((l) => l.messageId === p.id);
  await fake.waitForMessage((m) => m.sender_email === w.bot.email && m.content.includes('SLA breached'), { timeoutMs: 10_000 });
  fake.failNext(1, { status: 500, path: /\/messages$/, method: 'POST' });
  const ack = fake.post(w.ann.email, STREAMS.critical, 'web-01', '!ack');
  await fake.waitForMessage((m) => m.sender_email === w.bot.email && m.content.startsWith('✅'), { afterId: ack.id });
  fake.expireAllQueues();
  await bot!.live();

  const m1 = (await get('/metrics')).text;
  expect(metric(m1, 'sre_bot_alerts_received_total', 'class="critical",outcome="opened"')).toBe(1);
  expect(metric(m1, 'sre_bot_alerts_malformed_total')).toBe(1);
  expect(metric(m1, 'sre_bot_incidents_open', 'class="critical",state="acknowledged"')).toBe(1);
  expect(metric(m1, 'sre_bot_reminders_sent_total')).toBeGreaterThanOrEqual(1);
  expect(metric(m1, 'sre_bot_sla_breaches_total')).toBe(1);
  expect(metric(m1, 'sre_bot_commands_total')).toBe(1);
  expect(metric(m1, 'sre_bot_time_to_acknowledge_seconds_count', 'class="critical"')).toBe(1);
  expect(metric(m1, 'sre_bot_request_errors_total', 'target="zulip",method="sendStreamMessage",code="network"')).toBe(1);
  expect(metric(m1, 'sre_bot_requests_seconds_count', 'target="zulip",method="sendStreamMessage",result="ok"')).toBeGreaterThanOrEqual(3);
  expect(metric(m1, 'sre_bot_queue_registrations')).toBe(2);
  expect(metric(m1, 'sre_bot_outbox_depth')).toBe(0);
  const h1 = JSON.parse((await get('/healthz')).text) as { zulip: { registrations: number } };
  expect(h1.zulip.registrations).toBe(2);
  expect((await get('/nope')).status).toBe(404);

  // Issue 20: names per Prometheus' guide, long-polls apart, build info, process metrics, a poll clock.
  expect(metric(m1, 'sre_bot_queue_registrations_total')).toBe(2);
  expect(m1).toMatch(/^# TYPE sre_bot_queue_registrations_total counter$/m);
  expect(m1).toMatch(new RegExp(`^sre_bot_build_info\\{version="\\d+\\.\\d+\\.\\d+[^"]*",node="${process.version.replace(/\./g, '\\.')}"\\} 1$`, 'm'));
  expect(metric(m1, 'process_cpu_seconds_total')).toBeGreaterThan(0);
  expect(metric(m1, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  expect(Math.abs(metric(m1, 'sre_bot_last_poll_timestamp_seconds') - Date.now() / 1000)).toBeLessThan(120);
  expect(metric(m1, 'sre_bot_zulip_long_poll_seconds_count', 'result="ok"')).toBeGreaterThanOrEqual(1);
  expect(m1).toMatch(/^sre_bot_zulip_long_poll_seconds_bucket\{le="120",result="ok"\} \d+$/m);
  expect(m1.split('\n').filter((l) => l.startsWith('sre_bot_requests_seconds') && l.includes('method="getEvents"'))).toEqual([]);
  expect(m1).not.toContain('sre_bot_zabbix_sync_up');
  expect(JSON.parse((await get('/healthz')).text)).toMatchObject({ ok: true, status: 'live' });
  const wanted = /^(sre_bot_(build_info|queue_registrations_total|last_poll_timestamp_seconds|alerts_received_total|incidents_open|outbox_depth)|sre_bot_requests_seconds_count\{target="zulip",method="sendStreamMessage"|sre_bot_zulip_long_poll_seconds_(count|bucket\{le="(90|120)")|process_(cpu_seconds_total|resident_memory_bytes|start_time_seconds)|nodejs_eventloop_lag_p99_seconds)[ {,]/;
  process.stdout.write(`\n--- /metrics sample ---\n${m1.split('\n').filter((l) => wanted.test(l)).join('\n')}\n`);
});
