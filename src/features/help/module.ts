/** `!help`: the commands every module declares, from the pipeline's registry. */
import type { CommandRegistry } from '../../pipeline/commands';
import type { BotModule } from '../../pipeline/module';

export function helpModule(registry: () => CommandRegistry): BotModule {
  return {
    name: 'help',
    commands: [
      {
        name: 'help',
        usage: '!help',
        summary: 'lists the commands',
        where: 'anywhere',
        run: (ctx) => ctx.reply(registry().helpText()),
      },
    ],
  };
}
