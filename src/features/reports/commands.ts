/** SLA reports (`!sla`, the weekly report) and postmortem drafts (`!postmortem`). */
import type { BotConfig } from '../../config/schema';
import type { TopicRef } from '../../domain/incident';
import { formatTime } from '../../domain/time';
import { here, type Command } from '../../pipeline/commands';
import { UserFacingError } from '../../pipeline/errors';
import type { JobHandler } from '../../pipeline/jobs';
import type { IncidentStore, ResponderStore } from '../../store/store';
import type { ZulipApi } from '../../zulip/api';
import type { Speaker } from '../../zulip/speaker';
import { renderPostmortem, type TopicPost } from './postmortem';
import { buildSlaReport, renderSlaReport } from './sla-report';

export interface ReportDeps {
  store: IncidentStore & Pick<ResponderStore, 'handovers'>;
  speaker: Speaker;
  api: Pick<ZulipApi, 'getMessagesAfter'>;
  config: Pick<BotConfig, 'timezone' | 'alerts'>;
  selfEmail: string;
}

/** The report window: `week` (default) or `month`, ending now. */
export function reportWindow(arg: string, now: number): { from: number; to: number; title: string } | undefined {
  const a = arg.trim().toLowerCase() || 'week';
  if (a === 'week') return { from: now - 7 * 86_400_000, to: now, title: 'SLA report, last 7 days' };
  if (a === 'month') return { from: now - 30 * 86_400_000, to: now, title: 'SLA report, last 30 days' };
  return undefined;
}

export function slaReportText(store: IncidentStore, timeZone: string, window: { from: number; to: number; title: string }): string {
  const report = buildSlaReport(store.incidentsOpenedBetween(window.from, window.to), store.logsOfKind('breach', window.from), (id) => store.getIncident(id), window.from, window.to);
  return renderSlaReport(report, window.title, (ms) => formatTime(ms, timeZone));
}

export const POSTMORTEM_JOB = 'reports.postmortem';

interface PostmortemJob {
  stream: string;
  topic: string;
  /** The `!postmortem` message (left out of the draft). */
  requestId: number;
  at: number;
}

export function reportCommands(d: ReportDeps): Command[] {
  const tz = d.config.timezone;
  return [
    {
      name: 'postmortem',
      usage: '!postmortem',
      where: 'topic',
      summary: "in an incident's topic: posts a postmortem draft in the team's template from the topic and the bot's records",
      run: (ctx) => {
        const ref = here(ctx);
        if (d.store.incidentsInTopic(ref).length === 0) throw new UserFacingError('not-found', 'No incident is tracked in this topic.');
        // Reading the topic's history waits on Zulip: done after the commit, off the message path.
        const job: PostmortemJob = { ...ref, requestId: ctx.message.id, at: ctx.now };
        ctx.enqueue(POSTMORTEM_JOB, job);
      },
    },
    {
      name: 'sla',
      usage: '!sla [week|month]',
      summary: 'SLA figures: incidents per class, time to acknowledge and resolve (median, p90), breaches, what fired most',
      where: 'anywhere',
      run: (ctx) => {
        const w = reportWindow(ctx.args, ctx.now);
        if (!w) throw new UserFacingError('usage', 'Say `week` or `month`.');
        ctx.reply(slaReportText(d.store, tz, w));
      },
    },
  ];
}

/** The `!postmortem` job: reads the topic's history and posts the draft there. */
export function postmortemJob(d: ReportDeps): JobHandler<PostmortemJob> {
  return {
    kind: POSTMORTEM_JOB,
    async run(job) {
      const ref: TopicRef = { stream: job.stream, topic: job.topic };
      const incidents = d.store.incidentsInTopic(ref);
      if (incidents.length === 0) return;
      const posts: TopicPost[] = [];
      for (let after = 0, guard = 0; guard < 20; guard++) {
        const page = await d.api.getMessagesAfter(after, ref, 1000);
        for (const m of page.messages) {
          const isAlert = d.config.alerts.senders.some((s) => s.toLowerCase() === m.senderEmail.toLowerCase());
          if (m.senderEmail !== d.selfEmail && !isAlert && !m.content.startsWith('!') && m.id !== job.requestId) posts.push({ at: m.timestamp * 1000, sender: m.senderName, content: m.content });
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
      d.speaker.say(
        job.stream,
        job.topic,
        renderPostmortem({
          title: incidents.length === 1 ? `${incidents[0]?.triggerName} (${incidents[0]?.host})` : `${hosts.join(', ')}: ${incidents.length} incidents`,
          incidents,
          logs: incidents.flatMap((i) => d.store.history(i.eventId)),
          posts,
          handovers,
          related,
          timeZone: d.config.timezone,
          now: job.at,
        }),
        'reply', // the answer to a person's !postmortem
      );
    },
    reportFailure(job, err) {
      d.speaker.say(job.stream, job.topic, `⚠️ Could not read this topic's history for the postmortem draft yet (${err.message.slice(0, 200)}); I keep trying and post it when Zulip answers.`);
    },
  };
}
