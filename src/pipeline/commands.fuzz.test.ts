/**
 * Hostile input against the command parser and every command, through the whole app in-process:
 * no throw escapes, nothing unbounded, replies never echo wildcard mentions and never exceed
 * Zulip's message limit. Fixed seed in CI; FUZZ_RUNS raises the counts for a larger local run.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { createApp } from '../app/app';
import { parseCommand } from './commands';
import { ManualClock } from '../core/clock';
import { silentLogger } from '../core/log';
import { openSqliteStore } from '../store/sqlite-store';
import type { StreamMessage } from '../zulip/api';
import { alertPost, streamMessage, T0, testConfig } from '../../test/support/factories';
import { MemoryZulip } from '../../test/support/memory-zulip';
import { drainMessages } from '../../test/support/outbox';

const SEED = Number(process.env.FUZZ_SEED ?? 42);
const RUNS = Number(process.env.FUZZ_RUNS ?? 0);
const WILDCARD = /@\*\*(all|everyone|channel|topic|stream)\*\*/i;

const hostile = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.string({ unit: 'grapheme', maxLength: 300 }),
  fc.constantFrom('@**all**', '@**everyone**', '@**channel**', '@**topic**', '@**stream**', '@*sre-team*', '@**Ann Smith**', '**', '|', '`', '```', '\n', '\u0000', '✔ ', '#**SRE # Critical>x**'),
  fc.string({ maxLength: 20 }).map((s) => s.repeat(600)),
  fc.constantFrom('SRE2611ABC', '12345', '2h', '0s', '99999999w', 'force', 'history', 'dsk'),
);
const argText = fc.array(hostile, { maxLength: 6 }).map((xs) => xs.join(' '));

test('the command parser takes anything: no throw, bounded, names are short lowercase words', () => {
  const runs = RUNS || 100_000;
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 400 }), argText.map((a) => `!${a}`), fc.string({ maxLength: 50 }).map((s) => `!${s}`)), (text) => {
      const c = parseCommand(text);
      if (c) {
        expect(c.name).toMatch(/^[a-z][a-z0-9_-]{0,31}$/);
        expect(c.args.length).toBeLessThanOrEqual(10_000);
      }
    }),
    { seed: SEED, numRuns: runs },
  );
});

test('every command with hostile arguments: answered, never a wildcard mention, never over the limit', async () => {
  const store = openSqliteStore(join(mkdtempSync(join(tmpdir(), 'sre-fuzz-')), 'bot.db'));
  const clock = new ManualClock(T0);
  const api = new MemoryZulip();
  const config = testConfig({ alerts: { senders: ['zabbix@example.org'] } });
  const app = createApp({ config, api, store, me: await api.me(), log: silentLogger, clock, ticker: { start: () => {}, stop: async () => {} } });
  let id = 100;
  const msg = (content: string, p: Partial<StreamMessage> = {}): StreamMessage =>
    streamMessage({ id: ++id, topic: 'web-01', content, timestamp: Math.floor(clock.now() / 1000), ...p });
  // Some incidents to act on, with hostile trigger names and hosts.
  for (const [n, trigger] of ['@**all** is down', 'a | b `c` **d**', 'x'.repeat(3000)].entries()) {
    await app.bot.onMessage(msg(alertPost({ host: 'web-01', eventId: String(500 + n), trigger }), { senderEmail: 'zabbix@example.org', senderId: 9 }));
    await app.bot.onMessage(msg(alertPost({ host: 'db-01', eventId: String(600 + n), severity: 'Warning', trigger }), { senderEmail: 'zabbix@example.org', senderId: 9, stream: 'SRE ## Non-critical', topic: 'db-01' }));
  }
  drainMessages(store);
  const names = app.commands.all().map((c) => c.name);
  let replies = 0;
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...names, 'ongoin', 'zzz'), argText, fc.boolean(), async (name, args, nonCritical) => {
      const where = nonCritical ? { stream: 'SRE ## Non-critical', topic: 'db-01' } : {};
      await app.bot.onMessage(msg(`!${name} ${args}`, where));
      clock.advance(1000);
      app.tick(clock.now());
      const out = drainMessages(store);
      expect(out.length).toBeGreaterThan(0);
      for (const m of out) {
        replies++;
        expect(m.content.length).toBeLessThanOrEqual(10_000);
        expect(m.content).not.toMatch(WILDCARD);
      }
    }),
    { seed: SEED, numRuns: RUNS ? Math.ceil(RUNS / 10) : 10_000 },
  );
  expect(replies).toBeGreaterThan(0);
  store.close();
}, 300_000);
