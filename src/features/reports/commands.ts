/**
 * The rest of the process: external reports (!incident, !track), resolving by hand (!resolve,
 * !resolved-by), postmortem drafts (!postmortem) and SLA reports (!sla).
 */
import { streamForClass, type BotConfig } from '../../config/schema';
import { neutralizeMentions, topicLink } from '../../core/text';
import type { IncidentLifecycle } from '../incidents/lifecycle';
import { isResolvedTopic } from '../incidents/lifecycle';
import type { TopicRef } from '../../domain/incident';
import { renderPostmortem, type TopicPost } from './postmortem';
import { buildSlaReport, renderSlaReport } from './sla-report';
import { formatTime } from '../reminders/render';
import type { Store } from '../../store/store';
import type { IncidentClass } from '../../domain/alert';
import type { ZulipApi } from '../../zulip/api';
import type { Speaker } from '../../zulip/speaker';
import type { Command } from '../../pipeline/commands';
import { UsageError } from '../../pipeline/commands';

const CLASS_WORDS: Record<string, IncidentClass> = {
  critical: 'critical',
  'non-critical': 'non-critical',
  noncritical: 'non-critical',
  informational: 'informational',
  info: 'informational',
};

export interface ReportCommandDeps {
  lifecycle: IncidentLifecycle;
  store: Store;
  speaker: Speaker;
  api: Pick<ZulipApi, 'getMessagesAfter'>;
  config: Pick<BotConfig, 'streams' | 'timezone' | 'alerts' | 'zulip'>;
  streamName: (id: number) => Promise<string | undefined>;
  selfEmail: string;
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

/** The report window: `week` (default) or `month`, ending now. */
export function reportWindow(arg: string, now: number): { from: number; to: number; title: string } | undefined {
  const a = arg.trim().toLowerCase() || 'week';
  if (a === 'week') return { from: now - 7 * 86_400_000, to: now, title: 'SLA report, last 7 days' };
  if (a === 'month') return { from: now - 30 * 86_400_000, to: now, title: 'SLA report, last 30 days' };
  return undefined;
}

export function slaReportText(store: Store, timeZone: string, window: { from: number; to: number; title: string }): string {
  const report = buildSlaReport(store.incidentsOpenedBetween(window.from, window.to), store.logsOfKind('breach', window.from), (id) => store.getIncident(id), window.from, window.to);
  return renderSlaReport(report, window.title, (ms) => formatTime(ms, timeZone));
}

export function reportCommands(d: ReportCommandDeps): Command[] {
  const tz = d.config.timezone;
  return [
    {
      name: 'incident',
      usage: '!incident <critical|non-critical|informational> <host or service> <summary>',
      summary: 'reports an incident that came by other means (customer or cron mail): opens its topic, tracks it with SLA and reminders',
      run: (ctx) => {
        const m = /^(\S+)\s+(\S+)\s+([\s\S]+)$/.exec(ctx.args);
        const cls = m ? CLASS_WORDS[(m[1] as string).toLowerCase()] : undefined;
        if (!m || !cls) throw new UsageError('Give the class, the host or service, and a summary.');
        const host = (m[2] as string).slice(0, 60);
        const summary = (m[3] as string).trim().slice(0, 500);
        const stream = streamForClass(d.config.streams, cls);
        const topic = host;
        const incident = d.lifecycle.openManual({ eventId: `M${ctx.message.id}`, incidentClass: cls, host, summary, stream, topic, by: ctx.message.senderName, messageId: ctx.message.id });
        d.speaker.say(stream, topic, `📣 **Reported incident** (${cls}) on **${neutralizeMentions(host)}**: ${neutralizeMentions(summary)}\n${neutralizeMentions(ctx.message.senderName)} took responsibility (reported in ${topicLink(ctx.message.stream, ctx.message.topic)}). Tracked as ${incident.eventId}: SLA from now, reminders until \`!ack\`; \`!resolve\` or ✔ closes it.`);
        if (stream !== ctx.message.stream || topic !== ctx.message.topic) ctx.reply(`📣 Tracking it in ${topicLink(stream, topic)} (${incident.eventId}).`);
      },
    },
    {
      name: 'track',
      usage: '!track <critical|non-critical|informational>',
      summary: 'inside a topic opened by hand: adopts it as an incident with SLA and reminders',
      run: (ctx) => {
        const cls = CLASS_WORDS[ctx.args.trim().toLowerCase()];
        if (!cls) throw new UsageError('Give the class.');
        if (!ctx.message.topic || isResolvedTopic(ctx.message.topic)) throw new UsageError('Type it in the (unresolved) topic of the incident.');
        if (d.store.incidentsInTopic(ctx.message, { openOnly: true }).length > 0) {
          ctx.reply('This topic already has tracked incidents (`!ongoing`).');
          return;
        }
        const incident = d.lifecycle.openManual({ eventId: `M${ctx.message.id}`, incidentClass: cls, host: ctx.message.topic, summary: ctx.message.topic, stream: ctx.message.stream, topic: ctx.message.topic, by: ctx.message.senderName, messageId: ctx.message.id });
        ctx.reply(`📌 Tracking this topic as a ${cls} incident (${incident.eventId}), reported by ${neutralizeMentions(ctx.message.senderName)}; SLA from now.`);
      },
    },
    {
      name: 'resolve',
      usage: '!resolve [note]',
      summary: "in an incident's topic: resolves its open incidents by hand",
      run: (ctx) => {
        const note = ctx.args.slice(0, 500);
        const done = d.lifecycle.resolveTopicManually(ctx.message, ctx.message.senderName, 'manual', note || 'resolved by hand');
        ctx.reply(done.length === 0 ? 'Nothing to resolve: no open incident in this topic.' : `✅ Resolved by ${neutralizeMentions(ctx.message.senderName)}: ${done.map((i) => neutralizeMentions(i.triggerName)).join(', ')}.${note ? ` Note: ${neutralizeMentions(note)}` : ''}`);
      },
    },
    {
      name: 'resolved-by',
      usage: '!resolved-by #**stream>topic**',
      summary: "in an incident's topic: resolves it by the work done in another topic, and says so in both",
      run: async (ctx) => {
        const main = await parseTopicRef(ctx.args, d.streamName);
        if (!main) throw new UsageError('Link the topic where it was resolved: `#**stream>topic**` or a Zulip link to it.');
        if (main.stream === ctx.message.stream && main.topic === ctx.message.topic) throw new UsageError('Link another topic than this one.');
        const done = d.lifecycle.resolveTopicManually(ctx.message, ctx.message.senderName, 'linked', `resolved in ${main.stream} > ${main.topic}`);
        if (done.length === 0) {
          ctx.reply('Nothing to resolve: no open incident in this topic.');
          return;
        }
        ctx.reply(`🔗 Resolved by the work in ${topicLink(main.stream, main.topic)} (said by ${neutralizeMentions(ctx.message.senderName)}): ${done.map((i) => neutralizeMentions(i.triggerName)).join(', ')}.`);
        d.speaker.say(main.stream, main.topic, `🔗 The underlying problem resolved here also resolved ${topicLink(ctx.message.stream, ctx.message.topic)}: ${done.map((i) => neutralizeMentions(i.triggerName)).join(', ')} (per ${neutralizeMentions(ctx.message.senderName)}).`);
      },
    },
    {
      name: 'postmortem',
      usage: '!postmortem',
      summary: "in an incident's topic: posts a postmortem draft in the team's template from the topic and the bot's records",
      run: async (ctx) => {
        const ref = { stream: ctx.message.stream, topic: ctx.message.topic };
        const incidents = d.store.incidentsInTopic(ref);
        if (incidents.length === 0) throw new UsageError('No incident is tracked in this topic.');
        const posts: TopicPost[] = [];
        for (let after = 0, guard = 0; guard < 20; guard++) {
          const page = await d.api.getMessagesAfter(after, ref, 1000);
          for (const m of page.messages) {
            const isAlert = d.config.alerts.senders.some((s) => s.toLowerCase() === m.senderEmail.toLowerCase());
            if (m.senderEmail !== d.selfEmail && !isAlert && !m.content.startsWith('!') && m.id !== ctx.message.id) posts.push({ at: m.timestamp * 1000, sender: m.senderName, content: m.content });
          }
          const last = page.messages.at(-1)?.id;
          if (page.foundNewest || last === undefined) break;
          after = last;
        }
        const hosts = [...new Set(incidents.map((i) => i.host))];
        const ids = new Set(incidents.map((i) => i.eventId));
        const firstOpened = Math.min(...incidents.map((x) => x.openedAt));
        const related = hosts.flatMap((h) => d.store.incidentsOfHost(h, 20)).filter((i) => !ids.has(i.eventId) && i.openedAt < firstOpened);
        const handovers = d.store.handovers(50).map((h) => ({ at: h.at, to: h.to.name, ...(h.from ? { from: h.from.name } : {}) }));
        ctx.reply(
          renderPostmortem({
            title: incidents.length === 1 ? `${incidents[0]?.triggerName} (${incidents[0]?.host})` : `${hosts.join(', ')}: ${incidents.length} incidents`,
            incidents,
            logs: incidents.flatMap((i) => d.store.history(i.eventId)),
            posts,
            handovers,
            related,
            timeZone: tz,
            now: ctx.now,
          }),
        );
      },
    },
    {
      name: 'sla',
      usage: '!sla [week|month]',
      summary: 'SLA figures: incidents per class, time to acknowledge and resolve (median, p90), breaches, what fired most',
      readOnly: true,
      run: (ctx) => {
        const w = reportWindow(ctx.args, ctx.now);
        if (!w) throw new UsageError('Say `week` or `month`.');
        ctx.reply(slaReportText(d.store, tz, w));
      },
    },
  ];
}
