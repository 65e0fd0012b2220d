/** Commands of the non-critical workflow: !names, !project (in a topic). */
import { outside } from '../../core/text';
import { parseProjectId } from '../../domain/naming';
import type { NonCriticalWorkflow } from './workflow';
import { here, type Command } from '../../pipeline/commands';
import { UserFacingError } from '../../pipeline/errors';

export function nonCriticalCommands(workflow: NonCriticalWorkflow): Command[] {
  return [
    {
      name: 'names',
      where: 'topic',
      usage: '!names [XXX]',
      summary: "in an incident's topic: the Kimai activity, milestone, Lynx project name and ID for its latest incident (XXX: the ID's three letters)",
      run: (ctx) => {
        const letters = ctx.args || undefined;
        if (letters !== undefined && !/^[A-Za-z]{3}$/.test(letters)) throw new UserFacingError('usage', 'XXX is three letters, e.g. `!names WEB`.');
        const r = workflow.names(here(ctx), letters);
        if (!r) throw new UserFacingError('not-found', 'No incident is tracked in this topic.');
        const n = r.names;
        ctx.reply(
          [
            `Names for **${outside(r.incident.triggerName)}** on **${outside(r.incident.host)}** (opened ${n.startDate}):`,
            `- Kimai activity: \`${n.kimaiActivity}\``,
            `- Milestone: \`${n.milestone}\``,
            `- Lynx project: \`${n.lynxProject}\``,
            `- Lynx project ID: \`${n.lynxId}\``,
          ].join('\n'),
        );
      },
    },
    {
      name: 'project',
      where: 'topic',
      usage: '!project SRE<YYMM><XXX>',
      summary: "in an incident's topic: records its Lynx project ID (repeats of the alert then get 🔁)",
      run: (ctx) => {
        const id = parseProjectId(ctx.args);
        if (!id) throw new UserFacingError('usage', ctx.args ? `"${outside(ctx.args, { max: 40 })}" is not a Lynx project ID like SRE2611WEB.` : 'Give the Lynx project ID.');
        const isNew = workflow.record(here(ctx), id, ctx.message.senderName, ctx.message.id);
        ctx.reply(isNew ? `📌 Recorded Lynx project \`${id}\` for this topic; repeats of this alert get 🔁 instead of a new report.` : `\`${id}\` was already recorded for this topic.`);
      },
    },
  ];
}
