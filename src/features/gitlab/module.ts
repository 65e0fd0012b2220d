/**
 * GitLab tracking (only with `gitlab.url`, a token and `gitlab.project`): an issue per incident of
 * a tracked class, made by an after-commit job when it opens (alert, `!incident`, `!track`) or by
 * `!gitlab`; people's messages in the topic become notes; people's notes on GitLab are posted in
 * the topic (polled every `gitlab.syncEvery`, and by the webhook); resolving closes the issue and
 * reopening reopens it. See ./service.ts.
 */
import { parseCommand } from '../../pipeline/commands';
import type { BotModule } from '../../pipeline/module';
import type { GitlabStore, IncidentStore } from '../../store/store';
import { gitlabCommands } from './commands';
import { CLOSED_BECAUSE, type GitlabService } from './service';

export function gitlabModule(service: GitlabService, store: IncidentStore & GitlabStore, jobs: { enqueue(kind: string, payload: unknown): void }): BotModule {
  return {
    name: 'gitlab',
    commands: gitlabCommands(service, store),
    jobs: [service.openJob, service.linkJob, service.noteJob, service.stateJob, service.syncJob],
    onAlert: ({ outcome, message }) => {
      if (outcome.kind === 'opened') service.queueOpen(outcome.incident, jobs, { streamId: message.streamId });
      if (outcome.kind === 'reopened') {
        if (store.gitlabIssueOf(outcome.incident.eventId)) service.queueState([outcome.incident], 'reopen', 'Zabbix', 'Zabbix posted the problem again', jobs);
        else service.queueOpen(outcome.incident, jobs, { streamId: message.streamId });
      }
      if (outcome.kind === 'resolved') service.queueState([outcome.incident], 'close', 'Zabbix', CLOSED_BECAUSE['ok-alert'], jobs);
    },
    onIncidentChange: (change, queue) => {
      if (change.kind === 'opened') for (const i of change.incidents) service.queueOpen(i, queue, { reportedBy: change.by });
      if (change.kind === 'resolved') service.queueState(change.incidents, 'close', change.by, CLOSED_BECAUSE.manual, queue);
    },
    onMessage: (m) => {
      // Commands and the bot's own posts are not notes (alerts never reach onMessage).
      if (parseCommand(m.content)) return;
      service.queueNote(m, jobs);
    },
    onTopicMove: ({ from, to, incidents }) => service.onTopicMove(from, to, incidents),
    tick: (now) => service.maybeSync(now),
    health: () => service.health(),
  };
}
