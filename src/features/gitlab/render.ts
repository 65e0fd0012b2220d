/**
 * What the GitLab tracking writes: the issue (title by the naming convention, body, due date),
 * the notes it makes of chat messages, the lines it says in the topic, and links into Zulip.
 * Pure: the time zone, the Zulip site and stream ids are passed in.
 */
import { outside, topicLink } from '../../core/text';
import { dateFormat } from '../../core/time-format';
import type { Incident, TopicRef } from '../../domain/incident';
import { isZabbixEventId } from '../../domain/event-ids';
import { incidentNames, problemTitle } from '../../domain/naming';
import { slaFor, type SlaConfig } from '../../domain/sla';
import { formatTime } from '../../domain/time';
import { CLASS_LABEL } from '../../domain/classes';
import type { GitlabUser } from '../../gitlab/api';

/** Zulip's encoding of a narrow's parts in a URL (its `encodeHashComponent`). */
function hashComponent(text: string): string {
  return encodeURIComponent(text).replace(/[%().]/g, (c) => (c === '%' ? '.' : c === '(' ? '.28' : c === ')' ? '.29' : '.2E'));
}

/** Where Zulip lives and which id a stream has: enough to write full links. */
export interface ZulipPlace {
  /** Base URL of the Zulip server, when known. */
  site?: string;
  /** The stream's id, when known. */
  streamId?: number;
}

/** A full URL to the topic (site + `#narrow/channel/<id>-<name>/topic/<topic>`), or `#**stream>topic**` without site or id. */
export function topicUrl(ref: TopicRef, place: ZulipPlace): string | undefined {
  if (place.site === undefined || place.streamId === undefined) return undefined;
  return `${place.site.replace(/\/+$/, '')}/#narrow/channel/${place.streamId}-${hashComponent(ref.stream.replace(/ /g, '-'))}/topic/${hashComponent(ref.topic)}`;
}

/** The topic as a Markdown link (GitLab renders it), or Zulip's own `#**stream>topic**` form. */
export function topicRef(ref: TopicRef, place: ZulipPlace): string {
  const url = topicUrl(ref, place);
  return url ? `[${mdText(`${ref.stream} > ${ref.topic}`)}](${url})` : topicLink(ref.stream, ref.topic);
}

/** A link to one message in its topic. */
export function messageUrl(ref: TopicRef, messageId: number, place: ZulipPlace): string {
  const url = topicUrl(ref, place);
  return url ? `${url}/near/${messageId}` : `#**${ref.stream}>${ref.topic}@${messageId}**`;
}

/** Text for GitLab Markdown: one line, no control characters, Markdown link brackets escaped. */
function mdText(text: string, max = 300): string {
  return outside(text, { max }).replace(/[[\]\\]/g, '\\$&');
}

/** Text from chat for a GitLab note: `@` mentions made silent (GitLab would notify users or @all). */
function gitlabQuote(text: string, max = 5_000): string {
  const body = outside(text, { newlines: true, max }).replace(/@(?=[\w.-])/g, '@\u200B');
  return body
    .split('\n')
    .map((line) => `> ${line}`)
    .join('\n');
}

/** The bot's marker in an issue it created for an incident: found again after a crash. */
export function issueMarker(eventId: string): string {
  return `sre-bot:event:${eventId}`;
}

export interface NamingContext {
  timeZone: string;
  organisation: string;
  sla: SlaConfig;
}

/** The naming convention: non-critical incidents by their Lynx project name; others "<trigger> on <host>". */
export function issueTitle(i: Incident, n: NamingContext): string {
  if (i.incidentClass === 'non-critical') return incidentNames({ triggerName: i.triggerName, host: i.host, at: i.openedAt, timeZone: n.timeZone, organisation: n.organisation }).lynxProject;
  return problemTitle(i.triggerName, i.host);
}

/** The SLA deadline the issue is due by: the resolve deadline, or the acknowledge one for classes without. */
export function slaDeadline(i: Incident, sla: SlaConfig): { kind: 'resolve' | 'acknowledge'; at: number } | undefined {
  const c = slaFor(sla, i.incidentClass);
  if (c.resolveWithin !== undefined) return { kind: 'resolve', at: i.openedAt + c.resolveWithin };
  if (c.ackWithin !== undefined) return { kind: 'acknowledge', at: i.openedAt + c.ackWithin };
  return undefined;
}

/** YYYY-MM-DD of an instant in the time zone (GitLab's due date). */
export function dayIn(at: number, timeZone: string): string {
  return dateFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(at));
}

export function issueDescription(i: Incident, n: NamingContext, place: ZulipPlace, reportedBy?: string): string {
  const deadline = slaDeadline(i, n.sla);
  const zabbix = isZabbixEventId(i.eventId) && i.link ? `[event ${i.eventId}](${i.link})` : `none (reported by hand${reportedBy ? ` by ${mdText(reportedBy, 100)}` : ''}, ${i.eventId})`;
  const fields = [
    `- **Host:** ${mdText(i.host)}`,
    `- **Trigger:** ${mdText(i.triggerName, 500)}`,
    `- **Severity:** ${i.severity} (${CLASS_LABEL[i.incidentClass].toLowerCase()})`,
    `- **Zabbix:** ${zabbix}`,
    `- **Zulip topic:** ${topicRef(i, place)}`,
    `- **Opened:** ${formatTime(i.openedAt, n.timeZone)}`,
    `- **SLA deadline:** ${deadline ? `${deadline.kind} by ${formatTime(deadline.at, n.timeZone)}` : 'none'}`,
  ];
  if (i.incidentClass === 'non-critical') {
    const names = incidentNames({ triggerName: i.triggerName, host: i.host, at: i.openedAt, timeZone: n.timeZone, organisation: n.organisation });
    fields.push(`- **Kimai activity:** ${mdText(names.kimaiActivity)}`, `- **Lynx project:** ${mdText(names.lynxProject)} (suggested ID ${names.lynxId})`);
  }
  return [
    ...fields,
    '',
    'Messages in the Zulip topic are added here as notes, and notes added here are posted there. Closing this issue is said in the topic.',
    '',
    `<!-- ${issueMarker(i.eventId)} -->`,
  ].join('\n');
}

/** A chat message as an issue note: who, a link to it, the text quoted. */
export function noteFromChat(author: string, content: string, link: string): string {
  return `**${mdText(author, 100)}** wrote in Zulip ([message](${link})):\n\n${gitlabQuote(content)}`;
}

/** A GitLab note as a topic post: who, a link to it, the text quoted. */
export function chatFromNote(author: GitlabUser, body: string, iid: number, noteUrl: string): string {
  const who = `**${outside(author.name || author.username, { max: 100 })}**${author.username ? ` (${outside(author.username, { max: 60 })})` : ''}`;
  const text = outside(body, { newlines: true, max: 4_000 })
    .split('\n')
    .map((l) => `> ${l}`)
    .join('\n');
  return `💬 ${who} on GitLab, [#${iid} note](${noteUrl}):\n${text}`;
}

/** `[#12](url)` */
export function issueLink(iid: number, webUrl: string): string {
  return webUrl ? `[#${iid}](${webUrl})` : `#${iid}`;
}

export function incidentText(i: Pick<Incident, 'triggerName' | 'eventId'>): string {
  return `**${outside(i.triggerName, { max: 200 })}** (event ${i.eventId})`;
}

export function whoText(u: GitlabUser | undefined): string {
  return u ? outside(u.name || u.username, { max: 100 }) : 'someone';
}
