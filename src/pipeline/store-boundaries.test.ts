/**
 * The error boundaries and a store that cannot write: a module's own failure is logged and
 * skipped (unchanged), a StoreUnavailableError goes through to the event poller (which retries
 * the message) — no apology for a command that never ran, nothing half committed.
 */
import { Writable } from 'node:stream';
import { inProcessBot } from '../../test/support/harness';
import { createLogger } from '../core/log';
import { StoreUnavailableError } from '../store/errors';
import type { BotModule } from './module';

const diskFull = () => new StoreUnavailableError('SQLITE_FULL', 'database or disk is full');

async function botWith(fail: { hook?: Error; command?: Error; change?: Error; tick?: Error }) {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger('debug', new Writable({ write: (chunk: Buffer, _e, cb) => (lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>), cb()) }));
  const flaky: BotModule = {
    name: 'flaky',
    commands: [
      {
        name: 'boom',
        usage: '!boom',
        summary: 'fails',
        run: () => {
          if (fail.command) throw fail.command;
        },
      },
    ],
    onAlert: () => {
      if (fail.hook) throw fail.hook;
    },
    onMessage: (m) => {
      if (fail.hook && m.content === 'chatter') throw fail.hook;
    },
    onIncidentChange: () => {
      if (fail.change) throw fail.change;
    },
    tick: () => {
      if (fail.tick) throw fail.tick;
    },
  };
  const bot = await inProcessBot({ log, modules: (list) => [...list, flaky] });
  return { bot, lines, errors: () => lines.filter((l) => Number(l.level) >= 50).map((l) => l.msg) };
}

test('a command failing on the store is not apologised for: the error reaches the caller and nothing is answered', async () => {
  const { bot, errors } = await botWith({ command: diskFull() });
  await expect(bot.say('!boom')).rejects.toThrow(StoreUnavailableError);
  expect(bot.replies()).toEqual([]);
  expect(errors()).toEqual([]);
});

test('a command failing by itself still gets the apology (unchanged)', async () => {
  const { bot, errors } = await botWith({ command: new Error('bug') });
  await bot.say('!boom');
  expect(bot.replies().map((r) => r.content)).toEqual([expect.stringMatching(/^Sorry, `!boom` failed with an internal error/)]);
  expect(errors()).toEqual(['command failed']);
});

test('a hook failing on the store stops the message (onAlert, onMessage); a hook failing by itself is logged and skipped', async () => {
  const down = await botWith({ hook: diskFull() });
  await expect(down.bot.alert({ eventId: '1' })).rejects.toThrow(StoreUnavailableError);
  await expect(down.bot.say('chatter')).rejects.toThrow(StoreUnavailableError);
  expect(down.bot.app.pipeline.stats.hookErrors).toBe(0);
  expect(down.errors()).toEqual([]);

  const buggy = await botWith({ hook: new Error('bug') });
  await buggy.bot.alert({ eventId: '1' });
  await buggy.bot.say('chatter');
  expect(buggy.bot.app.pipeline.stats.hookErrors).toBe(2);
  expect(buggy.errors()).toEqual(['module flaky: onAlert failed', 'module flaky: onMessage failed']);
});

test("a change hook failing on the store fails the command's whole commit: no answer, no position", async () => {
  const { bot } = await botWith({ change: diskFull() });
  await bot.alert({ eventId: '1' });
  bot.replies();
  const before = bot.store.getState('zulip.lastMessageId');
  await expect(bot.say('!ack on it')).rejects.toThrow(StoreUnavailableError);
  expect(bot.replies()).toEqual([]);
  expect(bot.store.getState('zulip.lastMessageId')).toBe(before);
});

test("the scheduler's tick failing on the store is deferred, not counted as a module failure", async () => {
  const { bot, errors, lines } = await botWith({ tick: diskFull() });
  expect(() => bot.app.tick(bot.clock.now())).not.toThrow();
  expect(bot.app.pipeline.stats.hookErrors).toBe(0);
  expect(errors()).toEqual([]);
  expect(lines.some((l) => l.msg === 'module flaky: tick deferred: the store cannot serve it')).toBe(true);
});
