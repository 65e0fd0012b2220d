/** Commands that help the responder in the moment: !recheck (the process's "Execute now"). */
import type { RecheckService } from './recheck';
import type { Command } from '../../pipeline/commands';

export interface HelpCommandDeps {
  recheck: RecheckService;
}

export function helpCommands({ recheck }: HelpCommandDeps): Command[] {
  return [
    {
      name: 'recheck',
      usage: '!recheck',
      summary: "in an incident's topic: has Zabbix execute the items behind its firing triggers now (\"Execute now\") and reports each trigger's state after the check",
      run: (ctx) => {
        // The wait runs in the background: alerts and commands keep flowing meanwhile.
        void recheck.start({ stream: ctx.message.stream, topic: ctx.message.topic }, ctx.reply, ctx.message.senderName);
      },
    },
  ];
}
