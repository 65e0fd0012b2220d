/** `!help`: the commands every module declares, from the pipeline's registry. */
import type { CommandRegistry } from '../../pipeline/commands';
import { UserFacingError } from '../../pipeline/errors';
import type { BotModule } from '../../pipeline/module';

export function helpModule(registry: () => CommandRegistry): BotModule {
  return {
    name: 'help',
    commands: [
      {
        name: 'help',
        usage: '!help',
        summary: 'lists the commands; `!help <command>` (e.g. `!help ack`) shows one: usage, examples, where it runs',
        examples: ['!help', '!help snooze'],
        where: 'anywhere',
        run: (ctx) => {
          if (!ctx.args) return ctx.reply(registry().helpText());
          const one = registry().helpFor(ctx.args.split(/\s+/)[0] as string);
          if (!one) throw new UserFacingError('usage', registry().unknownText(ctx.args.replace(/^[!?]/, '').split(/\s+/)[0] as string));
          ctx.reply(one);
        },
      },
    ],
  };
}
