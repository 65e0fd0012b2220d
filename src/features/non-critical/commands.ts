/** Commands of the non-critical workflow: !names, !project. */
import { neutralizeMentions } from '../../core/text';
import { parseProjectId } from '../../domain/naming';
import type { NonCriticalWorkflow } from './workflow';
import type { Command } from '../../pipeline/commands';
import { UsageError } from '../../pipeline/commands';

export function trackingCommands(workflow: NonCriticalWorkflow): Command[] {
  return [
    {
      name: 'names',
      usage: '!names [XXX]',
      summary: "in an incident's topic: the Kimai activity, milestone, Lynx project name and ID for its latest incident (XXX: the ID's three letters)",
      run: (ctx) => {
        const letters = ctx.args || undefined;
        if (letters !== undefined && !/^[A-Za-z]{3}$/.test(letters)) throw new UsageError('XXX is three letters, e.g. `!names WEB`.');
        const r = workflow.names({ stream: ctx.message.stream, topic: ctx.message.topic }, letters);
        if (!r) throw new UsageError('No incident is tracked in this topic.');
        const n = r.names;
        ctx.reply(
          [
            `Names for **${neutralizeMentions(r.incident.triggerName)}** on **${neutralizeMentions(r.incident.host)}** (opened ${n.startDate}):`,
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
      usage: '!project SRE<YYMM><XXX>',
      summary: "in an incident's topic: records its Lynx project ID (repeats of the alert then get 🔁)",
      run: (ctx) => {
        const id = parseProjectId(ctx.args);
        if (!id) throw new UsageError(ctx.args ? `"${neutralizeMentions(ctx.args.slice(0, 40))}" is not a Lynx project ID like SRE2611WEB.` : 'Give the Lynx project ID.');
        const isNew = workflow.record({ stream: ctx.message.stream, topic: ctx.message.topic }, id, ctx.message.senderName, ctx.message.id);
        ctx.reply(isNew ? `📌 Recorded Lynx project \`${id}\` for this topic; repeats of this alert get 🔁 instead of a new report.` : `\`${id}\` was already recorded for this topic.`);
      },
    },
  ];
}
