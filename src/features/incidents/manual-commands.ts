/**
 * Incidents that come or go by hand: reports by other means (`!incident`, `!track`) and
 * resolving by hand (`!resolve`, `!resolved-by`).
 */
import type { BotConfig } from '../../config/schema';
import { outside, topicLink } from '../../core/text';
import { classFromWord, streamForClass } from '../../domain/classes';
import { manualEventId } from '../../domain/event-ids';
import type { TopicRef } from '../../domain/incident';
import { isResolvedTopic } from '../../domain/topics';
import { here, type Command } from '../../pipeline/commands';
import { UserFacingError } from '../../pipeline/errors';
import type { IncidentStore } from '../../store/store';
import type { Speaker } from '../../zulip/speaker';
import type { IncidentLifecycle } from './lifecycle';

export interface ManualCommandDeps {
  lifecycle: IncidentLifecycle;
  store: Pick<IncidentStore, 'incidentsInTopic'>;
  speaker: Speaker;
  config: Pick<BotConfig, 'streams'>;
  streamName: (id: number) => Promise<string | undefined>;
}

/** `#**stream>topic**` or a Zulip link to a topic (`…#narrow/channel/24-name/topic/web-01…`). */
export async function parseTopicRef(text: string, streamName: (id: number) => Promise<string | undefined>): Promise<TopicRef | undefined> {
  const m = /#\*\*([^>*]+)>([^*]+)\*\*/.exec(text);
  if (m) return { stream: (m[1] as string).trim(), topic: (m[2] as string).trim() };
  const link = /#narrow\/(?:stream|channel)\/(\d+)(?:-[^/\s]*)?\/(?:topic|subject)\/([^/\s)]+)/.exec(text);
  if (!link) return undefined;
  const stream = await streamName(Number(link[1]));
  if (!stream) return undefined;
  try {
    return { stream, topic: decodeURIComponent((link[2] as string).replace(/\.([0-9A-Fa-f]{2})/g, '%$1')) };
  } catch {
    return undefined;
  }
}

/** The streams the bot answers in (where `!resolved-by` may link to and post). */
function sreStreams(s: BotConfig['streams']): string[] {
  return [s.critical, s.nonCritical, s.informational, s.general];
}

export function manualCommands(d: ManualCommandDeps): Command[] {
  return [
    {
      name: 'incident',
      usage: '!incident <critical|non-critical|informational> <host or service> <summary>',
      summary: 'reports an incident that came by other means (customer or cron mail): opens its topic, tracks it with SLA and reminders',
      where: 'stream',
      run: (ctx) => {
        const m = /^(\S+)\s+(\S+)\s+([\s\S]+)$/.exec(ctx.args);
        const cls = m ? classFromWord(m[1] as string) : undefined;
        if (!m || !cls) throw new UserFacingError('usage', 'Give the class, the host or service, and a summary.');
        const host = (m[2] as string).slice(0, 60);
        const summary = (m[3] as string).trim().slice(0, 500);
        const stream = streamForClass(d.config.streams, cls);
        const topic = host;
        const incident = d.lifecycle.openManual({ eventId: manualEventId(ctx.message.id), incidentClass: cls, host, summary, stream, topic, by: ctx.message.senderName, messageId: ctx.message.id });
        d.speaker.say(stream, topic, `📣 **Reported incident** (${cls}) on **${outside(host)}**: ${outside(summary, { max: 500 })}\n${outside(ctx.message.senderName, { max: 100 })} took responsibility (reported in ${topicLink(here(ctx).stream, here(ctx).topic)}). Tracked as ${incident.eventId}: SLA from now, reminders until \`!ack\`; \`!resolve\` or ✔ closes it.`, 'reply'); // part of the answer to the person
        if (stream !== here(ctx).stream || topic !== here(ctx).topic) ctx.reply(`📣 Tracking it in ${topicLink(stream, topic)} (${incident.eventId}).`);
        ctx.emit({ kind: 'opened', incidents: [incident], by: ctx.message.senderName, where: { stream, topic }, messageId: ctx.message.id });
      },
    },
    {
      name: 'track',
      where: 'topic',
      usage: '!track <critical|non-critical|informational>',
      summary: 'inside a topic opened by hand: adopts it as an incident with SLA and reminders',
      run: (ctx) => {
        const cls = classFromWord(ctx.args);
        if (!cls) throw new UserFacingError('usage', 'Give the class.');
        if (!here(ctx).topic || isResolvedTopic(here(ctx).topic)) throw new UserFacingError('usage', 'Type it in the (unresolved) topic of the incident.');
        if (d.store.incidentsInTopic(here(ctx), { openOnly: true }).length > 0) {
          ctx.reply('This topic already has tracked incidents (`!ongoing`).');
          return;
        }
        const incident = d.lifecycle.openManual({ eventId: manualEventId(ctx.message.id), incidentClass: cls, host: here(ctx).topic, summary: here(ctx).topic, stream: here(ctx).stream, topic: here(ctx).topic, by: ctx.message.senderName, messageId: ctx.message.id });
        ctx.reply(`📌 Tracking this topic as a ${cls} incident (${incident.eventId}), reported by ${outside(ctx.message.senderName, { max: 100 })}; SLA from now.`);
        ctx.emit({ kind: 'opened', incidents: [incident], by: ctx.message.senderName, where: here(ctx), messageId: ctx.message.id });
      },
    },
    {
      name: 'resolve',
      where: 'topic',
      usage: '!resolve [note]',
      summary: "in an incident's topic: resolves its open incidents by hand",
      run: (ctx) => {
        const note = ctx.args.slice(0, 500);
        const done = d.lifecycle.resolveTopicManually(here(ctx), ctx.message.senderName, 'manual', note || 'resolved by hand');
        d.lifecycle.markResolvedLater(here(ctx), done, ctx.message.id, ctx.enqueue);
        if (done.length > 0) ctx.emit({ kind: 'resolved', incidents: done, by: ctx.message.senderName, where: here(ctx) });
        ctx.reply(done.length === 0 ? `Nothing to resolve: no open incident in this topic.${d.lifecycle.whereElse(here(ctx))}` : `✅ Resolved by ${outside(ctx.message.senderName, { max: 100 })}: ${done.map((i) => outside(i.triggerName)).join(', ')}.${note ? ` Note: ${outside(note, { max: 500 })}` : ''}`);
      },
    },
    {
      name: 'resolved-by',
      where: 'topic',
      usage: '!resolved-by #**stream>topic**',
      summary: "in an incident's topic: resolves it by the work done in another topic, and says so in both",
      run: async (ctx) => {
        const ref = await parseTopicRef(ctx.args, d.streamName);
        if (!ref) throw new UserFacingError('usage', 'Link the topic where it was resolved: `#**stream>topic**` or a Zulip link to it.');
        const sre = sreStreams(d.config.streams);
        const stream = sre.find((s) => s.toLowerCase() === ref.stream.toLowerCase());
        // The bot posts into the linked topic: only where it answers anyway, never e.g. the organisational stream.
        if (!stream) throw new UserFacingError('refused', `I only link topics of the SRE streams (${sre.map((s) => `**${s}**`).join(', ')}); **${outside(ref.stream, { max: 100 })}** is not one of them.`);
        const main = { stream, topic: ref.topic };
        if (main.stream === here(ctx).stream && main.topic === here(ctx).topic) throw new UserFacingError('usage', 'Link another topic than this one.');
        const done = d.lifecycle.resolveTopicManually(here(ctx), ctx.message.senderName, 'linked', `resolved in ${main.stream} > ${main.topic}`);
        d.lifecycle.markResolvedLater(here(ctx), done, ctx.message.id, ctx.enqueue);
        if (done.length > 0) ctx.emit({ kind: 'resolved', incidents: done, by: ctx.message.senderName, where: here(ctx) });
        if (done.length === 0) {
          ctx.reply('Nothing to resolve: no open incident in this topic.');
          return;
        }
        ctx.reply(`🔗 Resolved by the work in ${topicLink(main.stream, main.topic)} (said by ${outside(ctx.message.senderName, { max: 100 })}): ${done.map((i) => outside(i.triggerName)).join(', ')}.`);
        d.speaker.say(main.stream, main.topic, `🔗 The underlying problem resolved here also resolved ${topicLink(here(ctx).stream, here(ctx).topic)}: ${done.map((i) => outside(i.triggerName)).join(', ')} (per ${outside(ctx.message.senderName, { max: 100 })}).`, 'reply'); // part of the answer to the person
      },
    },
  ];
}
