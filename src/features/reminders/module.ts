/** Reminders and SLA warnings: each scheduler round fires what fell due, one message per topic. */
import type { BotModule } from '../../pipeline/module';
import type { ReminderEngine, RoundResult } from './engine';

export function remindersModule(engine: ReminderEngine, counted?: (round: RoundResult) => void): BotModule {
  return {
    name: 'reminders',
    tick: (now) => {
      const round = engine.tick(now);
      counted?.(round);
    },
  };
}
