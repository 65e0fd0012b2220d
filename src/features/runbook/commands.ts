/** `!recheck`: the process's "Execute now", from the incident's topic. */
import { here, type Command } from '../../pipeline/commands';
import type { RecheckService } from './recheck';

export function runbookCommands(recheck: RecheckService): Command[] {
  return [
    {
      name: 'recheck',
      usage: '!recheck',
      where: 'topic',
      requires: ['zabbix'],
      summary: "in an incident's topic: has Zabbix execute the items behind its firing triggers now (\"Execute now\") and reports each trigger's state after the check",
      run: (ctx) => {
        // The wait runs in the background: alerts and commands keep flowing meanwhile.
        void recheck.start(here(ctx), ctx.reply, ctx.message.senderName);
      },
    },
  ];
}
