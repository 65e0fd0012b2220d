/** `!gitlab [#iid]`: creates the topic's GitLab issue by hand, or links an existing one. */
import { outside } from '../../core/text';
import { here, type Command } from '../../pipeline/commands';
import { UserFacingError } from '../../pipeline/errors';
import type { GitlabStore, IncidentStore } from '../../store/store';
import { GITLAB_LINK_JOB, type GitlabService, type LinkIssueJob } from './service';

export function gitlabCommands(service: GitlabService, store: Pick<IncidentStore, 'incidentsInTopic'> & Pick<GitlabStore, 'gitlabIssueOf'>): Command[] {
  return [
    {
      name: 'gitlab',
      usage: '!gitlab [#issue]',
      summary: "in an incident's topic: creates its GitLab issue (if it has none), or links an existing issue (`!gitlab #123`)",
      where: 'topic',
      run: (ctx) => {
        const ref = here(ctx);
        const m = /^#?(\d{1,9})$/.exec(ctx.args);
        if (ctx.args && !m) throw new UserFacingError('usage', `"${outside(ctx.args, { max: 40 })}" is not an issue number like #123.`);
        const open = store.incidentsInTopic(ref, { openOnly: true });
        const incidents = open.length > 0 ? open : store.incidentsInTopic(ref, {}).slice(-1);
        if (incidents.length === 0) throw new UserFacingError('not-found', 'No incident is tracked in this topic: `!track <class>` first.');
        const waiting = service.failing ? ' GitLab is not answering right now: it is done when it does.' : '';
        if (m) {
          const job: LinkIssueJob = { ...ref, eventIds: incidents.map((i) => i.eventId), iid: Number(m[1]), by: ctx.message.senderName, messageId: ctx.message.id };
          ctx.enqueue(GITLAB_LINK_JOB, job);
          if (waiting) ctx.reply(`🔗 Linking GitLab issue #${job.iid}.${waiting}`);
          return;
        }
        const without = incidents.filter((i) => store.gitlabIssueOf(i.eventId) === undefined);
        if (without.length === 0) {
          ctx.reply(incidents.map((i) => `${service.issueLine(i.eventId) ?? ''} — ${outside(i.triggerName, { max: 150 })} (event ${i.eventId})`).join('\n'));
          return;
        }
        for (const i of without) service.queueOpen(i, { enqueue: ctx.enqueue }, { byHand: ctx.message.senderName });
        if (waiting) ctx.reply(`📋 Creating the GitLab issue.${waiting}`);
      },
    },
  ];
}
