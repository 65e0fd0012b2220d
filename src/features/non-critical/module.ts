/**
 * The non-critical workflow: Lynx project IDs remembered per host topic, 🔁 on repeats, the
 * checklist with the names once, `!names`, `!project`.
 */
import type { BotModule } from '../../pipeline/module';
import { nonCriticalCommands } from './commands';
import type { NonCriticalWorkflow } from './workflow';

export function nonCriticalModule(workflow: NonCriticalWorkflow): BotModule {
  return {
    name: 'non-critical',
    commands: nonCriticalCommands(workflow),
    onAlert: (e) => workflow.onAlert(e),
    onMessage: (m) => workflow.onMessage(m),
  };
}
