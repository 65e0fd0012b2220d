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

/** `!handover @**Name** [incidents] force`: completes at once (no confirmation, unacknowledged incidents or not). */
export function isForced(args: string): boolean {
  return !/^(accept|confirm|cancel)\b/i.test(args.trim()) && /\bforce\s*$/i.test(args);
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
          if (!fr.setFirst(person, ctx.message.senderName, ctx.topic)) {
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
      usage: '!handover @**Name** [incidents] [force] | accept | confirm [incidents] | cancel',
      examples: ['!handover @**Bob Jones**', '!handover @**Bob Jones** web-01 7001', '!handover accept', '!handover confirm all', '!handover cancel', '!handover @**Bob Jones** force'],
      summary:
        'hands over first responder: whoever starts it (the acting or the upcoming FR), the other side confirms (`!handover accept` / `!handover confirm`, or ✅ on the request) within `firstResponder.handoverExpiry`; the acting FR may name incidents to hand over (hosts or event ids, `all`); waits for unacknowledged incidents; `force` (the acting FR or a member of `firstResponder.group`) completes at once, announced as forced',
      run: async (ctx) => {
        const sub = /^(accept|confirm|cancel)\b\s*([\s\S]*)$/i.exec(ctx.args);
        if (sub) {
          const verb = (sub[1] as string).toLowerCase();
          ctx.reply(verb === 'cancel' ? fr.cancel(sender(ctx)) : await fr.confirm(sender(ctx), (sub[2] as string).trim()));
          return;
        }
        if (!parseMention(ctx.args)) throw new UserFacingError('usage', 'Name the upcoming first responder with a mention; the other side answers `!handover accept` (or `confirm`).');
        const force = isForced(ctx.args);
        const r = await fr.handover(sender(ctx), ctx.args, force, ctx.topic);
        ctx.reply(r.reply);
      },
    },
    {
      name: 'handling',
      where: (args) => (/^list$/i.test(args.trim()) ? 'anywhere' : 'topic'),
      requires: ['fr-or-group'],
      usage: '!handling [area <name> | host <pattern> | list]',
      examples: ['!handling', '!handling area web', '!handling host ^db-0[12]\\.', '!handling list'],
      summary:
        "the acting FR or a member of `firstResponder.group` handles incidents instead of the FR until their working day ends (or `!release`): in a topic, its host's area (config `areas`) or else the topic; `area <name>`; `host <regular expression>`. Reminders and warnings of what they handle mention them. Without anything to cover, or `list`: who handles what",
      run: (ctx) => {
        const target = fr.handlingTarget(ctx.topic, ctx.args);
        if (target.kind === 'list' || target.kind === 'all') {
          ctx.reply(fr.listHandling(ctx.now));
          return;
        }
        const h = fr.startHandling(here(ctx), sender(ctx), target);
        const reminders = target.kind === 'topic' ? 'reminders here mention them' : 'reminders and warnings there mention them';
        ctx.reply(`🛠️ ${outside(h.person.name, { max: 100 })} handles ${h.covers}; ${reminders} until ${formatTime(h.until, timeZone)} (the end of their working day) or \`!release\`.`);
      },
    },
    {
      name: 'release',
      where: 'topic',
      usage: '!release [area <name> | host <pattern> | all]',
      summary: "in an incident's topic: stop handling it (and its area); `area <name>`, `host <pattern>`, or `all` you handle; reminders go to the first responder again",
      run: (ctx) => {
        const a = ctx.args.trim();
        const target = a === '' ? undefined : fr.handlingTarget(ctx.topic, a);
        const r = fr.release(here(ctx), sender(ctx), target);
        if (r.released.length === 0) {
          ctx.reply(a === '' ? 'Nobody is handling this topic.' : 'Nothing to release there.');
          return;
        }
        const names = [...new Set(r.who.map((p) => outside(p.name, { max: 100 })))].join(', ');
        ctx.reply(
          r.released.length === 1 && r.released[0] === 'this topic'
            ? `${names} no longer handles this topic; reminders go to the first responder again.`
            : `${names} no longer handle${r.who.length === 1 ? 's' : ''} ${r.released.join(', ')}; reminders go to the first responder again.`,
        );
      },
    },
  ];
}
