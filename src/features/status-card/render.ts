/**
 * The status card of an incident topic, as text. Pure: the same state renders the same text, so
 * an unchanged card is never edited. Only absolute times are shown (a deadline "by 02:00", not
 * "3h left"): the text changes when the state does, not with the clock (the one exception: a
 * snooze or a handler whose time has passed is no longer shown).
 */
import { outside, topicLink } from '../../core/text';
import { CLASS_LABEL, SEVERITY_RANK } from '../../domain/classes';
import { formatDuration } from '../../domain/duration';
import { eventRef, isZabbixEventId } from '../../domain/event-ids';
import type { Incident, Resolution, TopicRef } from '../../domain/incident';
import { currentDeadline, slaFor, type SlaConfig } from '../../domain/sla';
import { formatTime } from '../../domain/time';

/** How a chat acknowledgement fared in Zabbix, as far as this process knows. */
export type ZabbixAckState = 'sent' | 'confirmed' | 'failing';

export interface CardContext {
  sla: SlaConfig;
  timeZone: string;
  now: number;
  /** Whether the bot talks to Zabbix (acknowledgements are made there too). */
  zabbixConfigured: boolean;
  /** The emoji that acknowledge (`reactions.acknowledge`), for the hint. */
  acknowledgeEmoji: readonly string[];
  zabbixAck?: (eventId: string) => ZabbixAckState | undefined;
  /** Who handles the incident instead of the first responder (`!handling`), and why. */
  handledBy?: (i: Incident) => { name: string; role: string } | undefined;
  /** The GitLab line of the incident (`GitLab: [#12](…) (open)`), when it has an issue. */
  issueLine?: (eventId: string) => string | undefined;
  /** Other topics linked to the incident: the host's earlier topic, the topic whose work resolved it. */
  linked?: (i: Incident) => { ref: TopicRef; why: string }[];
}

/** Open incidents shown in full; more are counted. */
const MAX_OPEN = 15;
/** Resolved incidents shown, one line each (the newest). */
const MAX_RESOLVED = 3;

const HOW: Record<Resolution, string> = {
  'ok-alert': 'OK from Zabbix',
  'topic-resolved': 'topic marked ✔',
  zabbix: 'resolved in Zabbix',
  manual: '`!resolve`',
  linked: '`!resolved-by`',
  agreed: 'agreed fully resolved',
};

function name(text: string | undefined): string {
  return outside(text ?? 'someone', { max: 100 });
}

function statusEmoji(i: Incident): string {
  return i.status === 'resolved' ? '✅' : i.status === 'acknowledged' ? '🟡' : '🔴';
}

function slaLine(i: Incident, c: CardContext): string {
  const cls = CLASS_LABEL[i.incidentClass];
  if (i.status === 'resolved') {
    const within = slaFor(c.sla, i.incidentClass).resolveWithin;
    const took = (i.resolvedAt ?? i.openedAt) - i.openedAt;
    const verdict = within === undefined ? '' : took <= within ? `, within the ${formatDuration(within)}` : `, **over** the ${formatDuration(within)}`;
    return `${cls} · resolved after ${formatDuration(took)}${verdict}`;
  }
  const d = currentDeadline(i, c.sla);
  const deadline = d ? `${d.kind === 'acknowledge' ? 'acknowledge' : 'resolve'} by ${formatTime(d.at, c.timeZone)}${d.at < c.now ? ' (**passed**)' : ''}` : 'no SLA deadline';
  return `${cls} · opened ${formatTime(i.openedAt, c.timeZone)} · SLA: ${deadline}`;
}

function ackLine(i: Incident, c: CardContext): string {
  if (i.status === 'resolved') return `Resolved by **${name(i.resolvedBy)}** at ${formatTime(i.resolvedAt ?? i.openedAt, c.timeZone)} (${HOW[i.resolution ?? 'manual']})`;
  if (i.status === 'acknowledged') {
    const note = i.ackNote ? ` — ${outside(i.ackNote, { max: 200 })}` : '';
    return `Acknowledged by **${name(i.acknowledgedBy)}** at ${formatTime(i.acknowledgedAt ?? i.openedAt, c.timeZone)}${note}`;
  }
  return '**Not acknowledged**';
}

function zabbixLine(i: Incident, c: CardContext): string | undefined {
  if (!isZabbixEventId(i.eventId)) return undefined;
  const ref = `event ${eventRef(i)}`;
  let state: string;
  if (i.status === 'resolved') {
    state = i.resolution === 'ok-alert' ? 'OK (recovered)' : i.resolution === 'zabbix' ? 'resolved in Zabbix' : 'closed here by hand; no OK from Zabbix yet';
  } else if (i.status === 'acknowledged') {
    if (/\(Zabbix\)$/.test(i.acknowledgedBy ?? '')) state = 'acknowledged in Zabbix';
    else if (!c.zabbixConfigured) state = 'problem; the bot is not connected to Zabbix: acknowledge there too';
    else {
      const ack = c.zabbixAck?.(i.eventId);
      state = ack === 'failing' ? '⚠️ the acknowledgement is not in Zabbix yet (retrying; acknowledge there by hand if Zabbix is calling someone)' : ack === 'sent' ? 'acknowledging there…' : 'acknowledged from chat';
    }
  } else state = 'problem, unacknowledged';
  return `Zabbix: ${state} · ${ref}`;
}

function block(i: Incident, c: CardContext): string[] {
  // The event's link to Zabbix is on the Zabbix line.
  const head = `${statusEmoji(i)} **${outside(i.triggerName, { max: 200 })}** · ${i.severity} on ${outside(i.host, { max: 100 })} · event ${i.eventId}`;
  const lines = [slaLine(i, c), ackLine(i, c)];
  if (i.status !== 'resolved') {
    const h = c.handledBy?.(i);
    if (h) lines.push(`Handled by **${name(h.name)}** (${outside(h.role, { max: 100 })})`);
    const snoozed = i.timers?.snoozedUntil;
    if (snoozed !== undefined && snoozed > c.now) lines.push(`Reminders snoozed until ${formatTime(snoozed, c.timeZone)}`);
  }
  const z = zabbixLine(i, c);
  if (z) lines.push(z);
  const gitlab = c.issueLine?.(i.eventId);
  if (gitlab) lines.push(gitlab);
  const links = c.linked?.(i) ?? [];
  if (links.length > 0) lines.push(`Linked: ${links.map((l) => `${topicLink(l.ref.stream, l.ref.topic)} (${l.why})`).join('; ')}`);
  return [head, ...lines.map((l) => `- ${l}`)];
}

function resolvedLine(i: Incident, c: CardContext): string {
  return `✅ ~~${outside(i.triggerName, { max: 150 })}~~ · event ${eventRef(i)} — resolved by ${name(i.resolvedBy)} at ${formatTime(i.resolvedAt ?? i.openedAt, c.timeZone)} (${HOW[i.resolution ?? 'manual']})`;
}

const urgency = (a: Incident, b: Incident) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || a.openedAt - b.openedAt;

/** The card of a topic with these incidents (open ones in full, the newest resolved in a line each). */
export function renderCard(incidents: readonly Incident[], c: CardContext): string {
  const open = incidents.filter((i) => i.status !== 'resolved').sort(urgency);
  const resolved = incidents.filter((i) => i.status === 'resolved').sort((a, b) => (b.resolvedAt ?? 0) - (a.resolvedAt ?? 0));
  const unacked = open.filter((i) => i.status === 'open').length;
  const summary =
    open.length === 0
      ? 'all resolved ✅'
      : `${open.length} open${unacked > 0 ? `, **${unacked} not acknowledged**` : ', acknowledged'}`;
  const lines = [`🚦 **Status** — ${summary}`];
  for (const i of open.slice(0, MAX_OPEN)) lines.push('', ...block(i, c));
  if (open.length > MAX_OPEN) lines.push('', `… and ${open.length - MAX_OPEN} more open here (\`!ongoing\` lists them).`);
  if (open.length === 0 && resolved[0]) {
    // The last one to close in full: what the topic ended with.
    lines.push('', ...block(resolved[0], c));
    resolved.shift();
  }
  if (resolved.length > 0) lines.push('', ...resolved.slice(0, MAX_RESOLVED).map((i) => resolvedLine(i, c)));
  if (resolved.length > MAX_RESOLVED) lines.push(`… and ${resolved.length - MAX_RESOLVED} earlier, resolved.`);
  if (unacked > 0) {
    const emoji = c.acknowledgeEmoji.map((e) => `:${e}:`).join(' or ');
    lines.push('', `_To acknowledge: \`!ack\`${emoji ? `, or ${emoji} on the alert or on this message` : ''}. This card is kept up to date; reminders still come as messages._`);
  }
  return lines.join('\n');
}
