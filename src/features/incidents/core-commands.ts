/** The core commands: !help and !ongoing. */
import type { SlaConfig } from '../../config/schema';
import { renderOngoing } from './ongoing';
import type { IncidentStore } from '../../store/store';
import type { Command, CommandRegistry } from '../../pipeline/commands';

export interface CoreCommandDeps {
  registry: CommandRegistry;
  incidents: IncidentStore;
  sla: SlaConfig;
}

export function coreCommands({ registry, incidents, sla }: CoreCommandDeps): Command[] {
  return [
    {
      name: 'help',
      usage: '!help',
      summary: 'lists the commands',
      readOnly: true,
      run: (ctx) => ctx.reply(registry.helpText()),
    },
    {
      name: 'ongoing',
      usage: '!ongoing',
      summary: 'every open incident: class, host, trigger, age, acknowledged or not, SLA time left, topic',
      readOnly: true,
      run: (ctx) => {
        for (const part of renderOngoing(incidents.openSummaries(), sla, ctx.now)) ctx.reply(part);
      },
    },
  ];
}
