/** The in-process harness itself: events in, replies out, the clock, streams by id, clean-up. */
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { BotModule } from '../../src/pipeline/module';
import { HARNESS_START, inProcessBot } from './harness';

test('starts on the fixed Monday; alerts, commands and replies; all() keeps everything', async () => {
  const bot = await inProcessBot();
  expect(new Date(bot.clock.now()).toISOString()).toBe(new Date(HARNESS_START).toISOString());
  const m = await bot.alert({ eventId: '7001', triggerId: '501', trigger: 'SSH service is down on web-01.example.org' });
  expect(m).toMatchObject({ stream: 'SRE # Critical', topic: 'web-01.example.org', streamId: 1, senderEmail: 'zabbix@example.org' });
  expect(bot.store.getIncident('7001')?.status).toBe('open');
  const first = bot.replies();
  expect(first.length).toBeGreaterThan(0);
  expect(bot.replies()).toEqual([]);
  await bot.say('!ack', { as: 'bob' });
  expect(bot.replies().map((r) => r.content)).toEqual([expect.stringMatching(/^✅ Acknowledged by Bob Jones: SSH service is down on web-01\.example\.org \(event 7001\)\./)]);
  expect(bot.all()).toHaveLength(first.length + 1);
});

test('severity picks the stream; `at` takes ISO text or milliseconds', async () => {
  const bot = await inProcessBot({ at: '2026-11-22T12:00:00Z' });
  expect(bot.clock.now()).toBe(Date.parse('2026-11-22T12:00:00Z'));
  const warn = await bot.alert({ host: 'db-01', eventId: '1', severity: 'Warning' });
  const info = await bot.alert({ host: 'db-02', eventId: '2', severity: 'Information' });
  expect([warn.stream, warn.streamId, info.stream, info.streamId]).toEqual(['SRE ## Non-critical', 2, 'SRE ### Informational', 3]);
  expect((await inProcessBot({ at: 5_000 })).clock.now()).toBe(5_000);
});

test('stream ids agree with the fake Zulip, new streams included; topic moves are followed', async () => {
  const bot = await inProcessBot();
  expect(await bot.api.streams()).toEqual([
    { id: 1, name: 'SRE # Critical' },
    { id: 2, name: 'SRE ## Non-critical' },
    { id: 3, name: 'SRE ### Informational' },
    { id: 4, name: 'SRE - General' },
    { id: 5, name: 'Organisational' },
  ]);
  expect(bot.streamId('elsewhere')).toBe(6);
  expect(await bot.api.streams()).toContainEqual({ id: 6, name: 'elsewhere' });
  await bot.alert({ eventId: '7001' });
  bot.replies();
  await bot.moveTopic('web-01.example.org', '✔ web-01.example.org');
  expect(bot.store.getIncident('7001')).toMatchObject({ status: 'resolved', topic: '✔ web-01.example.org' });
  expect(bot.replies().map((r) => r.content)).toEqual([expect.stringMatching(/marked resolved by Ann Smith/)]);
  await bot.alert({ host: 'db-01', eventId: '7002', severity: 'Average' });
  await bot.moveTopic({ stream: 'SRE ## Non-critical', topic: 'db-01' }, { stream: 'SRE # Critical', topic: 'db-01' });
  expect(bot.store.getIncident('7002')).toMatchObject({ stream: 'SRE # Critical', topic: 'db-01' });
});

test('direct messages come back with their recipients', async () => {
  const bot = await inProcessBot();
  await bot.dm('!ongoing', 'bob');
  expect(bot.replies()).toEqual([{ to: ['bob@example.org'], content: expect.stringMatching(/^No open incidents/) }]);
});

test('advance: one scheduler round at the end, or one per second', async () => {
  const seen: number[] = [];
  const probe: BotModule = { name: 'probe', tick: (now) => void seen.push(now) };
  const bot = await inProcessBot({ modules: (list) => [...list, probe] });
  const t0 = bot.clock.now();
  await bot.advance('1h');
  expect(seen).toEqual([t0 + 3_600_000]);
  await bot.advance('3s', { everySecond: true });
  expect(seen.slice(1)).toEqual([t0 + 3_601_000, t0 + 3_602_000, t0 + 3_603_000]);
  await bot.advance(2_500, { tick: false });
  expect(seen).toHaveLength(4);
  expect(bot.clock.now()).toBe(t0 + 3_605_500);
  await expect(bot.advance('soon')).rejects.toThrow(/not a duration/);
});

test('close() removes the temp dir and is idempotent; a closed bot refuses events', async () => {
  const bot = await inProcessBot();
  expect(existsSync(bot.dir)).toBe(true);
  await bot.close();
  await bot.close();
  expect(existsSync(bot.dir)).toBe(false);
  await expect(bot.say('!help')).rejects.toThrow(/after close/);
});

let shared: Awaited<ReturnType<typeof inProcessBot>>;
describe('a bot made in beforeAll', () => {
  beforeAll(async () => {
    shared = await inProcessBot();
  });
  test('lives through the first test', async () => {
    await shared.say('!help');
    expect(shared.replies()).toHaveLength(1);
  });
  test('and the next', () => {
    expect(existsSync(shared.dir)).toBe(true);
  });
});

const dirs: string[] = [];
describe('a bot made in a test', () => {
  test('is closed after it', async () => {
    dirs.push((await inProcessBot()).dir);
    expect(existsSync(dirs[0]!)).toBe(true);
  });
  test('(checked here)', () => {
    expect(existsSync(dirs[0]!)).toBe(false);
  });
});

test('a module list that fails to build leaves no temp dir behind', async () => {
  const before = new Set(readdirSync(tmpdir()).filter((d) => d.startsWith('sre-harness-')));
  await expect(inProcessBot({ modules: () => { throw new Error('bad modules'); } })).rejects.toThrow('bad modules');
  expect(readdirSync(tmpdir()).filter((d) => d.startsWith('sre-harness-') && !before.has(d))).toEqual([]);
});
