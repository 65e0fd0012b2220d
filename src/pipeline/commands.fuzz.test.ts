/**
 * Hostile input against the command parser and every command, through the whole app in-process:
 * no throw escapes, nothing unbounded, replies never echo wildcard mentions and never exceed
 * Zulip's message limit. Fixed seed in CI; FUZZ_RUNS raises the counts for a larger local run.
 */
import fc from 'fast-check';
import { parseCommand } from './commands';
import { T0 } from '../../test/support/factories';
import { inProcessBot } from '../../test/support/harness';

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
  const bot = await inProcessBot({ at: T0, config: { alerts: { senders: ['zabbix@example.org'] } } });
  // Some incidents to act on, with hostile trigger names and hosts.
  for (const [n, trigger] of ['@**all** is down', 'a | b `c` **d**', 'x'.repeat(3000)].entries()) {
    await bot.alert({ host: 'web-01', eventId: String(500 + n), trigger });
    await bot.alert({ host: 'db-01', eventId: String(600 + n), severity: 'Warning', trigger });
  }
  bot.replies();
  const names = bot.app.pipeline.registry.all().map((c) => c.name);
  let replies = 0;
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...names, 'ongoin', 'zzz'), argText, fc.boolean(), async (name, args, nonCritical) => {
      const where = nonCritical ? { stream: 'SRE ## Non-critical', topic: 'db-01' } : { topic: 'web-01' };
      await bot.say(`!${name} ${args}`, where);
      await bot.advance(1000);
      const out = bot.replies();
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
}, 300_000);
