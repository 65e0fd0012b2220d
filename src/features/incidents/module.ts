/**
 * Incidents: the open-incident picture and the commands on it (`!ongoing`, `!ack`, `!snooze`,
 * `!incident`, `!track`, `!resolve`, `!resolved-by`); links a new problem's topic to the host's
 * earlier one; a topic marked ✔ resolves its incidents. (The alert and topic-move state changes
 * themselves are the pipeline's intake: ./intake.ts.)
 */
import type { BotModule } from '../../pipeline/module';
import { incidentCommands, type IncidentCommandDeps } from './commands';
import type { IncidentLifecycle } from './lifecycle';
import { manualCommands, type ManualCommandDeps } from './manual-commands';

export function incidentsModule(d: IncidentCommandDeps & ManualCommandDeps & { lifecycle: IncidentLifecycle }): BotModule {
  return {
    name: 'incidents',
    commands: [...incidentCommands(d), ...manualCommands(d)],
    jobs: [d.lifecycle.stillFiringJob],
    onAlert: ({ outcome }) => {
      if (outcome.kind === 'opened') d.lifecycle.linkEarlierTopic(outcome.incident);
    },
    onTopicMove: ({ from, to, incidents, byUserId }) => d.lifecycle.onTopicMove(from, to, incidents, byUserId),
  };
}
