/** First-responder commands: !fr, !handover, !handling, !release. */
import { formatDuration } from '../../domain/duration';
import { outside } from '../../core/text';
import { formatTime } from '../../domain/time';
import { parseMention, silentMention } from './handover';
import type { ResponderService } from './service';
import { here, type Command, type CommandContext } from '../../pipeline/commands';
import { UserFacingError } from '../../pipeline/errors';

function sender(ctx: CommandContext) {
  return { id: ctx.message.senderId, name: ctx.message.senderName };
}

/** `!handover @**Name** force`: the handover goes ahead with unacknowledged incidents. */
export function isForced(args: string): boolean {
  return /\bforce\s*$/i.test(args);
}


export function responderCommands(fr: ResponderService, timeZone: string): Command[] {
  return [
    {
      name: 'fr',
      usage: '!fr [@**Name** | history]',
      summary: 'says who the first responder is and since when; `!fr @**Name**` sets the first one; `!fr history` the last ten handovers',
      where: (args) => (args === '' || args === 'history' ? 'anywhere' : 'stream'),
      run: async (ctx) => {
        if (ctx.args === 'history') {
          const list = fr.history(10);
          ctx.reply(
            list.length === 0
              ? 'No first responder has been set yet.'
              : ['**Last handovers** (newest first):', ...list.map((h) => `- ${formatTime(h.at, timeZone)}: ${h.from ? `${silentMention(h.from)} → ` : ''}${silentMention(h.to)} (by ${outside(h.by, { max: 100 })}${h.forced ? ', forced' : ''})`)].join('\n'),
          );
          return;
        }
        if (ctx.args) {
          if (!parseMention(ctx.args)) throw new UserFacingError('usage', 'Name the person with a mention, e.g. `!fr @**Ann Smith**`.');
          const refused = await fr.refusal(ctx.message.senderId);
          if (refused) throw refused;
          const { person } = await fr.resolve(ctx.args);
          if (!fr.setFirst(person, ctx.message.senderName)) {
            const cur = fr.current()!;
            ctx.reply(`${silentMention(cur.to)} is the first responder already; use \`!handover @**${outside(person.name, { max: 100 })}**\` to hand over.`);
            return;
          }
          ctx.reply(`👤 ${silentMention(person)} is now the first responder (first-time setup by ${outside(ctx.message.senderName, { max: 100 })}).`);
          return;
        }
        const cur = fr.current();
        ctx.reply(
          cur
            ? `👤 The first responder is ${silentMention(cur.to)}, since ${formatTime(cur.at, timeZone)} (${formatDuration(ctx.now - cur.at)}).`
            : 'No first responder is set. Set the first one with `!fr @**Name**`; after that, hand over with `!handover @**Name**`.',
        );
      },
    },
    {
      name: 'handover',
      requires: ['fr-group', 'fr-or-group-to-force'],
      usage: '!handover @**Name** [force]',
      summary: 'starts or completes the first-responder handover to Name (waits for unacknowledged incidents unless `force`, which takes the acting FR or a member of `firstResponder.group`)',
      run: async (ctx) => {
        if (!parseMention(ctx.args)) throw new UserFacingError('usage', 'Name the upcoming first responder with a mention.');
        const force = isForced(ctx.args);
        const r = await fr.handover(sender(ctx), ctx.args, force);
        ctx.reply(r.reply);
      },
    },
    {
      name: 'handling',
      where: 'topic',
      requires: ['fr-or-group'],
      usage: '!handling',
      summary: "in an incident's topic (the acting FR or a member of `firstResponder.group`): you handle this host's incidents; reminders mention you instead of the FR until `!release` or your working day ends",
      run: (ctx) => {
        const h = fr.startHandling(here(ctx), sender(ctx));
        ctx.reply(`🛠️ ${outside(h.person.name, { max: 100 })} handles this topic; reminders here mention them until ${formatTime(h.until, timeZone)} or \`!release\`.`);
      },
    },
    {
      name: 'release',
      where: 'topic',
      usage: '!release',
      summary: "in an incident's topic: stop handling it; reminders go to the first responder again",
      run: (ctx) => {
        const h = fr.release(here(ctx));
        ctx.reply(h ? `${outside(h.person.name, { max: 100 })} no longer handles this topic; reminders go to the first responder again.` : 'Nobody is handling this topic.');
      },
    },
  ];
}
