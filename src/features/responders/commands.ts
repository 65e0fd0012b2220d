/** First-responder commands: !fr, !handover, !handling, !release. */
import { formatDuration } from '../../domain/duration';
import { neutralizeMentions } from '../../core/text';
import { formatTime } from '../reminders/render';
import { parseMention, silentMention } from './handover';
import { PersonNotFound, type ResponderService } from './service';
import type { Command, CommandContext } from '../../pipeline/commands';
import { UsageError } from '../../pipeline/commands';

function sender(ctx: CommandContext) {
  return { id: ctx.message.senderId, name: ctx.message.senderName };
}

/** Runs fn, turning "no such person" into the usage answer. */
async function withPeople<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof PersonNotFound) throw new UsageError(err.message);
    throw err;
  }
}

export function responderCommands(fr: ResponderService, timeZone: string): Command[] {
  return [
    {
      name: 'fr',
      usage: '!fr [@**Name** | history]',
      summary: 'says who the first responder is and since when; `!fr @**Name**` sets the first one; `!fr history` the last ten handovers',
      readOnly: (args) => args === '' || args === 'history',
      run: async (ctx) => {
        if (ctx.args === 'history') {
          const list = fr.history(10);
          ctx.reply(
            list.length === 0
              ? 'No first responder has been set yet.'
              : ['**Last handovers** (newest first):', ...list.map((h) => `- ${formatTime(h.at, timeZone)}: ${h.from ? `${silentMention(h.from)} → ` : ''}${silentMention(h.to)} (by ${neutralizeMentions(h.by)}${h.forced ? ', forced' : ''})`)].join('\n'),
          );
          return;
        }
        if (ctx.args) {
          if (!parseMention(ctx.args)) throw new UsageError('Name the person with a mention, e.g. `!fr @**Ann Smith**`.');
          const refused = await fr.refusal(ctx.message.senderId);
          if (refused) return ctx.reply(refused);
          const { person } = await withPeople(() => fr.resolve(ctx.args));
          if (!fr.setFirst(person, ctx.message.senderName)) {
            const cur = fr.current()!;
            ctx.reply(`${silentMention(cur.to)} is the first responder already; use \`!handover @**${person.name}**\` to hand over.`);
            return;
          }
          ctx.reply(`👤 ${silentMention(person)} is now the first responder (first-time setup by ${neutralizeMentions(ctx.message.senderName)}).`);
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
      usage: '!handover @**Name** [force]',
      summary: 'starts or completes the first-responder handover to Name (waits for unacknowledged incidents unless `force`)',
      run: async (ctx) => {
        if (!parseMention(ctx.args)) throw new UsageError('Name the upcoming first responder with a mention.');
        const refused = await fr.refusal(ctx.message.senderId);
        if (refused) return ctx.reply(refused);
        const force = /\bforce\s*$/i.test(ctx.args);
        const r = await withPeople(() => fr.handover(sender(ctx), ctx.args, force));
        ctx.reply(r.reply);
      },
    },
    {
      name: 'handling',
      usage: '!handling',
      summary: "in an incident's topic: you handle this host's incidents; reminders mention you instead of the FR until `!release` or your working day ends",
      run: (ctx) => {
        const h = fr.startHandling({ stream: ctx.message.stream, topic: ctx.message.topic }, sender(ctx));
        ctx.reply(`🛠️ ${neutralizeMentions(h.person.name)} handles this topic; reminders here mention them until ${formatTime(h.until, timeZone)} or \`!release\`.`);
      },
    },
    {
      name: 'release',
      usage: '!release',
      summary: "in an incident's topic: stop handling it; reminders go to the first responder again",
      run: (ctx) => {
        const h = fr.release({ stream: ctx.message.stream, topic: ctx.message.topic });
        ctx.reply(h ? `${neutralizeMentions(h.person.name)} no longer handles this topic; reminders go to the first responder again.` : 'Nobody is handling this topic.');
      },
    },
  ];
}
