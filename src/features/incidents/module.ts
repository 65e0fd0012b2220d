/**
 * Incidents: the open-incident picture and the commands on it (`!ongoing`, `!ack`, `!snooze`,
 * `!incident`, `!track`, `!resolve`, `!resolved-by`); links a new problem's topic to the host's
 * earlier one; a topic marked ✔ resolves its incidents, un-✔ reopens them; the same problem posted
 * after a ✔ reopens it; the picture is reconciled with Zulip's history after every start and
 * re-registration, and imported from it on the first start (./history.ts); an acknowledge emoji
 * on an alert post or the bot's message in an incident topic acknowledges (./reactions.ts). (The
 * alert and topic-move state changes themselves are the pipeline's intake: ./intake.ts.)
 */
import type { JobHandler } from '../../pipeline/jobs';
import type { BotModule, ReactionEvent } from '../../pipeline/module';
import { incidentCommands, type IncidentCommandDeps } from './commands';
import { importJob, reconcileJob, type HistoryDeps } from './history';
import type { IncidentLifecycle } from './lifecycle';
import { manualCommands, type ManualCommandDeps } from './manual-commands';
import { onAcknowledgeReaction, reactionAckJob, type ReactionAckDeps } from './reactions';

/** The old Mattermost integration's resolution phrase, alone in its message (a trailing mark allowed). */
export const RESOLUTION_PHRASE = /^\s*(?::[a-z_]+:\s*|✅\s*|✔️?\s*)?I agree that this has been fully resolved[.!]?\s*(?::[a-z_]+:|✅|✔️?)?\s*$/i;

export function incidentsModule(d: IncidentCommandDeps & ManualCommandDeps & { lifecycle: IncidentLifecycle; history: HistoryDeps; reactions?: ReactionAckDeps }): BotModule {
  const reactions = d.reactions;
  return {
    name: 'incidents',
    commands: [...incidentCommands(d), ...manualCommands(d)],
    jobs: [d.lifecycle.stillFiringJob, d.lifecycle.markResolvedJob, reconcileJob(d.history), importJob(d.history), ...(reactions ? [reactionAckJob(reactions) as JobHandler<never>] : [])],
    ...(reactions ? { onReaction: (e: ReactionEvent) => onAcknowledgeReaction(reactions, e) } : {}),
    onAlert: ({ outcome, message }) => {
      if (outcome.kind === 'opened') d.lifecycle.linkEarlierTopic(outcome.incident);
      if (outcome.kind === 'reopened') d.lifecycle.sayReopened(outcome.incident, outcome.previous);
      if (outcome.kind === 'opened' || outcome.kind === 'reopened') d.lifecycle.noteWrongStream(outcome.incident, message.stream, d.config.streams);
    },
    onTopicMove: ({ from, to, incidents, byUserId }) => d.lifecycle.onTopicMove(from, to, incidents, byUserId),
    onMessage: (m) => {
      if (RESOLUTION_PHRASE.test(m.content)) d.lifecycle.resolveByPhrase({ stream: m.stream, topic: m.topic }, m.senderName, m.id);
    },
  };
}
