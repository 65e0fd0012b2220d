/**
 * First-responder rules from the team's "Handover" section. Pure: the caller looks up users,
 * subscriptions and incidents and passes them in.
 */
import { formatDuration } from '../../domain/duration';
import { outside, topicLink } from '../../core/text';
import type { Incident } from '../../domain/incident';
import { CLASS_LABEL } from '../../domain/classes';
import { currentDeadline, deadlineText } from '../../domain/sla';
import type { SlaConfig } from '../../domain/sla';

export interface Person {
  id: number;
  name: string;
}

export interface Mention {
  name: string;
  id?: number;
  silent: boolean;
}

/** `@**Name**`, `@**Name|123**`, `@_**Name**`, `@_**Name|123**` (first one in the text). */
export function parseMention(text: string): Mention | undefined {
  const m = /@(_?)\*\*([^*|\n]{1,100})(?:\|(\d{1,12}))?\*\*/.exec(text);
  if (!m) return undefined;
  const name = (m[2] as string).trim();
  if (!name) return undefined;
  return { name, silent: m[1] === '_', ...(m[3] !== undefined ? { id: Number(m[3]) } : {}) };
}

/** A notifying mention of a person (with the id, so namesakes are told apart). */
export function mention(p: Person): string {
  return `@**${outside(p.name, { max: 100 })}|${p.id}**`;
}

export function silentMention(p: Person): string {
  return `@_**${outside(p.name, { max: 100 })}|${p.id}**`;
}

export type HandoverDecision =
  | { kind: 'same-person' }
  | { kind: 'not-allowed'; current: Person }
  | { kind: 'blocked'; unacknowledged: Incident[] }
  | { kind: 'missing-subscriptions'; streams: string[] }
  | { kind: 'complete'; forced: boolean; unacknowledged: Incident[] };

export interface HandoverInput {
  current: Person | undefined;
  sender: Person;
  target: Person;
  force: boolean;
  openIncidents: readonly Incident[];
  /** Required streams the upcoming FR is not subscribed to. */
  missingStreams: readonly string[];
}

/** The process: acting or upcoming FR may start it; all incidents acknowledged first (or forced); the right subscriptions. */
export function decideHandover(h: HandoverInput): HandoverDecision {
  if (h.current && h.current.id === h.target.id) return { kind: 'same-person' };
  if (h.current && h.sender.id !== h.current.id && h.sender.id !== h.target.id) return { kind: 'not-allowed', current: h.current };
  const unacknowledged = h.openIncidents.filter((i) => i.status === 'open');
  if (unacknowledged.length > 0 && !h.force) return { kind: 'blocked', unacknowledged };
  if (h.missingStreams.length > 0) return { kind: 'missing-subscriptions', streams: [...h.missingStreams] };
  return { kind: 'complete', forced: h.force && unacknowledged.length > 0, unacknowledged };
}

function incidentLine(i: Incident, sla: SlaConfig, now: number): string {
  const d = currentDeadline(i, sla);
  const left = deadlineText(d, now, 'short');
  const ack = i.status === 'acknowledged' ? `acknowledged by ${outside(i.acknowledgedBy ?? '?', { max: 100 })}` : '**unacknowledged**';
  return `- ${CLASS_LABEL[i.incidentClass]}: **${outside(i.triggerName)}** on ${outside(i.host)} — ${ack}, ${left} (${topicLink(i.stream, i.topic)})`;
}

export function renderBlocked(unacked: readonly Incident[], target: Person, sla: SlaConfig, now: number): string {
  return [
    `⏸️ The handover to ${silentMention(target)} waits: every active incident must be acknowledged first (${unacked.length} ${unacked.length === 1 ? 'is' : 'are'} not):`,
    ...unacked.map((i) => incidentLine(i, sla, now)),
    `Acknowledge them (\`!ack\` in their topics), or hand over anyway with \`!handover @**${outside(target.name, { max: 100 })}** force\`.`,
  ].join('\n');
}

export function renderAnnouncement(a: {
  from: Person | undefined;
  to: Person;
  by: Person;
  forced: boolean;
  open: readonly Incident[];
  handedOver: readonly Incident[];
  sla: SlaConfig;
  now: number;
}): string {
  const lines = [
    `🔄 **First responder handover**: ${a.from ? `${silentMention(a.from)} → ` : ''}${mention(a.to)} is now the acting first responder (started by ${outside(a.by.name, { max: 100 })}).`,
  ];
  if (a.forced) lines.push(`⚠️ Forced: ${a.open.filter((i) => i.status === 'open').length} incident(s) were still unacknowledged at handover.`);
  lines.push('', a.open.length === 0 ? 'No open incidents.' : `**Open incidents (${a.open.length})**:`, ...a.open.slice(0, 50).map((i) => incidentLine(i, a.sla, a.now)));
  if (a.open.length > 50) lines.push(`…and ${a.open.length - 50} more (\`!ongoing\`).`);
  if (a.from) {
    lines.push('', a.handedOver.length === 0 ? `${outside(a.from.name, { max: 100 })} hands over no incidents of their own.` : `**Handed over by ${outside(a.from.name, { max: 100 })}** (acknowledged or handled by them):`);
    lines.push(...a.handedOver.map((i) => incidentLine(i, a.sla, a.now)));
  }
  return lines.join('\n');
}

export function renderManualSteps(from: Person | undefined, to: Person): string {
  return [
    `✅ Handover to ${silentMention(to)} recorded and announced. What the bot can't do — please tick off:`,
    `- [ ] ${from ? 'Acting' : 'Previous'} FR adds ${outside(to.name, { max: 100 })} to the IPA \`sla-first-responder\` group`,
    `- [ ] Enable Zabbix calling for ${outside(to.name, { max: 100 })} (Zabbix > Configuration > Actions > Trigger actions), if they use it`,
    ...(from
      ? [
          `- [ ] ${outside(to.name, { max: 100 })} asks their questions and is aware of the SLA state`,
          `- [ ] Remove ${outside(from.name, { max: 100 })} from the \`sla-first-responder\` group and disable their Zabbix calling`,
        ]
      : []),
  ].join('\n');
}
