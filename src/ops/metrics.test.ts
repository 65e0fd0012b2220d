import { Metrics } from './metrics';

const sources = { openIncidents: () => [], outboxDepth: () => 0, registrations: () => 3, botStats: () => ({ malformedAlerts: 0, commands: 0 }) };
const line = (text: string, name: string) => text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));

test('sre_bot_zabbix_sync_up follows the sync; absent without Zabbix', async () => {
  let up = true;
  const m = new Metrics({ ...sources, zabbixSync: () => ({ up, lastOkAt: up ? 1_700_000_000_000 : undefined }), build: { version: '1.2.3', node: 'v24.0.0' } });
  expect(line(await m.text(), 'sre_bot_zabbix_sync_up')).toBe('sre_bot_zabbix_sync_up 1');
  expect(line(await m.text(), 'sre_bot_zabbix_last_sync_timestamp_seconds')).toBe('sre_bot_zabbix_last_sync_timestamp_seconds 1700000000');
  up = false;
  expect(line(await m.text(), 'sre_bot_zabbix_sync_up')).toBe('sre_bot_zabbix_sync_up 0');
  expect(line(await m.text(), 'sre_bot_build_info')).toBe('sre_bot_build_info{version="1.2.3",node="v24.0.0"} 1');
  expect(line(await new Metrics(sources).text(), 'sre_bot_zabbix_sync_up')).toBeUndefined();
});

test('counters end in _total; long-polls have their own histogram up to 120 s', async () => {
  const m = new Metrics({ ...sources, lastPollAt: () => 1_700_000_000_500 });
  await m.timed('zulip', 'getEvents', async () => undefined);
  await m.timed('zulip', 'sendStreamMessage', async () => undefined);
  const text = await m.text();
  for (const counter of text.split('\n').filter((l) => l.startsWith('# TYPE sre_bot_') && l.endsWith(' counter'))) expect(counter).toMatch(/_total counter$/);
  expect(line(text, 'sre_bot_queue_registrations_total')).toBe('sre_bot_queue_registrations_total 3');
  expect(line(text, 'sre_bot_last_poll_timestamp_seconds')).toBe('sre_bot_last_poll_timestamp_seconds 1700000000.5');
  expect(text).toContain('sre_bot_zulip_long_poll_seconds_bucket{le="120",result="ok"} 1');
  expect(text).toContain('sre_bot_requests_seconds_count{target="zulip",method="sendStreamMessage",result="ok"} 1');
  expect(text).not.toMatch(/sre_bot_requests_seconds\w*\{[^}]*getEvents/);
  expect(text).toMatch(/^process_cpu_seconds_total /m);
});
