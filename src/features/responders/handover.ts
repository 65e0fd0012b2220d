/**
 * First-responder rules from the team's "Handover" section. Pure: the caller looks up users,
 * subscriptions and incidents and passes them in.
 */
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
  /** Only the acting first responder names the incidents to hand over. */
  | { kind: 'names-not-allowed'; current: Person }
  | { kind: 'blocked'; unacknowledged: Incident[] }
  | { kind: 'missing-subscriptions'; streams: string[] }
  /** Waits for the other side: `confirmer` confirms (`!handover accept`/`confirm`, or ✅). */
  | { kind: 'request'; confirmer: Person }
  | { kind: 'complete'; forced: boolean; unacknowledged: Incident[] };

export interface HandoverInput {
  current: Person | undefined;
  sender: Person;
  target: Person;
  force: boolean;
  openIncidents: readonly Incident[];
  /** Required streams the upcoming FR is not subscribed to. */
  missingStreams: readonly string[];
  /** The sender named incidents to hand over. */
  naming?: boolean;
}

/**
 * The process: the acting or the upcoming FR starts it, and the other side confirms before it
 * completes; every active incident acknowledged first; the upcoming FR subscribed to the right
 * streams. `force` (the acting FR or a member of `firstResponder.group`, checked before) completes
 * at once: without the other side's confirmation and despite unacknowledged incidents. With
 * nobody FR yet there is nobody to confirm: it completes.
 */
export function decideHandover(h: HandoverInput): HandoverDecision {
  if (h.current && h.current.id === h.target.id) return { kind: 'same-person' };
  const party = !h.current || h.sender.id === h.current.id || h.sender.id === h.target.id;
  if (!party && !h.force) return { kind: 'not-allowed', current: h.current as Person };
  if (h.naming && h.current && h.sender.id !== h.current.id) return { kind: 'names-not-allowed', current: h.current };
  const unacknowledged = h.openIncidents.filter((i) => i.status === 'open');
  if (unacknowledged.length > 0 && !h.force) return { kind: 'blocked', unacknowledged };
  if (h.missingStreams.length > 0) return { kind: 'missing-subscriptions', streams: [...h.missingStreams] };
  if (!h.current) return { kind: 'complete', forced: h.force && unacknowledged.length > 0, unacknowledged };
  if (h.force) return { kind: 'complete', forced: true, unacknowledged };
  return { kind: 'request', confirmer: h.sender.id === h.current.id ? h.target : h.current };
}

/** A handover waiting for the other side's confirmation (kept in the store's state). */
export interface PendingHandover {
  id: number;
  /** The acting FR when it was requested. */
  from: Person;
  to: Person;
  /** Who started it. */
  by: Person;
  /** Who must confirm: the other side. */
  confirmer: Person;
  /** Event ids the acting FR named to hand over. */
  named: string[];
  requestedAt: number;
  expiresAt: number;
  /** Where it was requested: replies to a ✅ and the expiry are said there. */
  where?: { stream: string; topic: string };
}

export type ConfirmDecision =
  | { kind: 'none' }
  /** The first responder changed since the request. */
  | { kind: 'stale' }
  | { kind: 'own-request' }
  | { kind: 'not-confirmer' }
  | { kind: 'names-not-allowed' }
  | { kind: 'blocked'; unacknowledged: Incident[] }
  | { kind: 'missing-subscriptions'; streams: string[] }
  | { kind: 'complete' };

export function decideConfirmation(c: {
  pending: PendingHandover | undefined;
  current: Person | undefined;
  sender: Person;
  naming: boolean;
  openIncidents: readonly Incident[];
  missingStreams: readonly string[];
}): ConfirmDecision {
  const p = c.pending;
  if (!p) return { kind: 'none' };
  if (c.current?.id !== p.from.id) return { kind: 'stale' };
  if (c.sender.id === p.by.id) return { kind: 'own-request' };
  if (c.sender.id !== p.confirmer.id) return { kind: 'not-confirmer' };
  if (c.naming && c.sender.id !== p.from.id) return { kind: 'names-not-allowed' };
  const unacknowledged = c.openIncidents.filter((i) => i.status === 'open');
  if (unacknowledged.length > 0) return { kind: 'blocked', unacknowledged };
  if (c.missingStreams.length > 0) return { kind: 'missing-subscriptions', streams: [...c.missingStreams] };
  return { kind: 'complete' };
}

/** Words after the mention: incident names (hosts, event ids, `all`) and a trailing `force`. */
export function handoverWords(args: string): { names: string[]; force: boolean } {
  const rest = args.replace(/@_?\*\*[^*\n]{1,100}\*\*/, ' ').trim();
  const words = rest.split(/[\s,]+/).filter(Boolean).slice(0, 50);
  const force = words.length > 0 && /^force$/i.test(words[words.length - 1] as string);
  return { names: force ? words.slice(0, -1) : words, force };
}

/**
 * The open incidents the names pick: an event id, a host (`web-01.example.org`, or its first
 * label `web-01`), else hosts containing the name; `all` is every incident `own` says the
 * acting FR owns. Names that pick nothing are returned as unknown.
 */
export function pickIncidents(names: readonly string[], open: readonly Incident[], own: (i: Incident) => boolean): { picked: Incident[]; unknown: string[] } {
  const picked = new Map<string, Incident>();
  const unknown: string[] = [];
  for (const raw of names) {
    const n = raw.toLowerCase();
    let hit: Incident[];
    if (n === 'all') hit = open.filter(own);
    else {
      hit = open.filter((i) => i.eventId === raw);
      if (hit.length === 0) hit = open.filter((i) => i.host.toLowerCase() === n || i.host.toLowerCase().split('.')[0] === n);
      if (hit.length === 0) hit = open.filter((i) => i.host.toLowerCase().includes(n));
    }
    if (hit.length === 0 && n !== 'all') unknown.push(raw);
    for (const i of hit) picked.set(i.eventId, i);
  }
  return { picked: [...picked.values()], unknown };
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
  /** Who confirmed it (the other side). */
  confirmedBy?: Person;
  forced: boolean;
  open: readonly Incident[];
  /** The incidents the acting FR named: the new FR owns them now. */
  handedOver: readonly Incident[];
  /** The old FR's own incidents that were not named: they stay with them. */
  kept?: readonly Incident[];
  /** The Zabbix user group the bot moves people in and out of (`zabbix.firstResponder`), when configured. */
  zabbixGroup?: string;
  sla: SlaConfig;
  now: number;
}): string {
  const who = [`started by ${outside(a.by.name, { max: 100 })}`, ...(a.confirmedBy ? [`confirmed by ${outside(a.confirmedBy.name, { max: 100 })}`] : [])].join(', ');
  const lines = [`🔄 **First responder handover**: ${a.from ? `${silentMention(a.from)} → ` : ''}${mention(a.to)} is now the acting first responder (${who}).`];
  const unacked = a.open.filter((i) => i.status === 'open').length;
  if (a.forced && unacked > 0) lines.push(`⚠️ Forced: ${unacked} incident(s) were still unacknowledged at handover.`);
  if (a.forced && a.from && !a.confirmedBy) {
    const others = [a.from, a.to].filter((p) => p.id !== a.by.id).map((p) => outside(p.name, { max: 100 }));
    lines.push(`⚠️ Forced by ${outside(a.by.name, { max: 100 })}: completed without confirmation by ${others.join(' or ')}.`);
  }
  if (a.zabbixGroup) {
    lines.push(`📞 Zabbix: moving ${outside(a.to.name, { max: 100 })} into the user group **${outside(a.zabbixGroup, { max: 100 })}**${a.from ? ` and ${outside(a.from.name, { max: 100 })} out` : ''}; what changed follows in this topic.`);
  }
  lines.push('', a.open.length === 0 ? 'No open incidents.' : `**Open incidents (${a.open.length})**:`, ...a.open.slice(0, 50).map((i) => incidentLine(i, a.sla, a.now)));
  if (a.open.length > 50) lines.push(`…and ${a.open.length - 50} more (\`!ongoing\`).`);
  if (a.from) {
    lines.push(
      '',
      a.handedOver.length === 0
        ? `${outside(a.from.name, { max: 100 })} hands over no incidents by name.`
        : `**Handed over by ${outside(a.from.name, { max: 100 })}** to ${outside(a.to.name, { max: 100 })} (reminders and warnings go to them now):`,
    );
    lines.push(...a.handedOver.slice(0, 50).map((i) => incidentLine(i, a.sla, a.now)));
    if ((a.kept ?? []).length > 0) {
      lines.push(`**Still with ${outside(a.from.name, { max: 100 })}** (acknowledged or handled by them):`, ...(a.kept ?? []).slice(0, 50).map((i) => incidentLine(i, a.sla, a.now)));
    }
  }
  return lines.join('\n');
}

export function renderManualSteps(from: Person | undefined, to: Person, zabbixAutomated = false): string {
  return [
    `✅ Handover to ${silentMention(to)} recorded and announced. What the bot can't do — please tick off:`,
    `- [ ] ${from ? 'Acting' : 'Previous'} FR adds ${outside(to.name, { max: 100 })} to the IPA \`sla-first-responder\` group`,
    ...(zabbixAutomated ? [] : [`- [ ] Enable Zabbix calling for ${outside(to.name, { max: 100 })} (Zabbix > Configuration > Actions > Trigger actions), if they use it`]),
    ...(from
      ? [
          `- [ ] ${outside(to.name, { max: 100 })} asks their questions and is aware of the SLA state`,
          zabbixAutomated
            ? `- [ ] Remove ${outside(from.name, { max: 100 })} from the \`sla-first-responder\` group (the bot moves them in Zabbix)`
            : `- [ ] Remove ${outside(from.name, { max: 100 })} from the \`sla-first-responder\` group and disable their Zabbix calling`,
        ]
      : []),
  ].join('\n');
}

/** The request the other side confirms; `(request #N)` lets a ✅ on it be recognised. */
export function renderRequest(p: PendingHandover, expiry: string, picked: readonly Incident[]): string {
  const lines = [`🤝 **Handover requested** (request #${p.id}) by ${outside(p.by.name, { max: 100 })}: ${silentMention(p.from)} → ${silentMention(p.to)} as first responder.`];
  const fromActing = p.confirmer.id === p.to.id;
  lines.push(
    fromActing
      ? `${mention(p.confirmer)}, confirm with \`!handover accept\` (or ✅ on this message) within ${expiry}; \`!handover cancel\` withdraws it.`
      : `${mention(p.confirmer)}, confirm with \`!handover confirm\` (or ✅ on this message) within ${expiry}, naming the incidents ${outside(p.to.name, { max: 100 })} takes over if you like (\`!handover confirm web-01 7001\`: hosts or event ids; \`all\`: every one you own); \`!handover cancel\` withdraws it.`,
  );
  if (picked.length > 0) lines.push(`Named to hand over: ${picked.map((i) => `${outside(i.host)} (event ${i.eventId})`).join(', ')}.`);
  return lines.join('\n');
}

export function renderExpired(p: PendingHandover, expiry: string): string {
  return `⌛ Handover request #${p.id} (${silentMention(p.from)} → ${silentMention(p.to)}) expired: ${silentMention(p.confirmer)} did not confirm within ${expiry}. ${mention(p.by)}, start it again with \`!handover @**${outside(p.to.name, { max: 100 })}**\` when you can both talk.`;
}
