/**
 * Reactions through the pipeline: every module's `onReaction` in its own boundary; the bot's own
 * reactions and other bots' are dropped; a user Zulip cannot look up counts as a person; a hook
 * may tell the modules what it changed (`emit`).
 */
import { inProcessBot } from '../../test/support/harness';
import type { IncidentChange } from '../domain/incident';
import type { BotModule, ReactionEvent } from './module';

test('onReaction: each module in its boundary; the bot and bots are dropped; an unknown user counts as a person; emit reaches onIncidentChange', async () => {
  const seen: ReactionEvent[] = [];
  const changes: IncidentChange['kind'][] = [];
  const recorder: BotModule = {
    name: 'recorder',
    onReaction: (e) => {
      seen.push(e);
      e.emit?.({ kind: 'snoozed', incidents: [], by: 'test', where: { stream: 'SRE # Critical', topic: 't' }, until: 0 });
    },
    onIncidentChange: (c) => void changes.push(c.kind),
  };
  const broken: BotModule = {
    name: 'broken',
    onReaction: () => {
      throw new Error('bug');
    },
  };
  const bot = await inProcessBot({ modules: (list) => [broken, ...list, recorder] });
  bot.api.users_.push({ id: 7, email: 'other-bot@example.org', fullName: 'Other Bot', isBot: true });
  const user = (id: number) => ({ id, email: `${id}@example.org`, fullName: `User ${id}` });
  await bot.react(500, 'eyes', { as: user(1) }); // the bot itself
  await bot.react(500, 'eyes', { as: user(7) }); // another bot
  await bot.react(500, 'eyes', { as: 'bob' });
  await bot.react(500, 'eyes', { as: user(4242), op: 'remove' }); // Zulip does not know the user: taken as a person
  expect(seen.map((e) => [e.op, e.userId, e.messageId, e.emojiName])).toEqual([
    ['add', 3, 500, 'eyes'],
    ['remove', 4242, 500, 'eyes'],
  ]);
  expect(changes).toEqual(['snoozed', 'snoozed']);
  expect(bot.app.pipeline.stats.hookErrors).toBe(2); // the broken module, twice; the others still ran
});
