/**
 * The storm summary: one message, kept up to date by editing it, in the critical stream's
 * several-hosts topic. It names the storm's hosts with their critical triggers and topics (✅ and
 * struck through once resolved: OK from Zabbix, ✔ on the topic, `!resolve`), what fires most, and
 * what the hosts' topics did not get one by one: the client prompt once for all, the runbook
 * hints that matched, the non-critical checklists held. Pure; kept under Zulip's message limit.
 */
import { formatDuration } from '../../domain/duration';
import { outside, topicLink } from '../../core/text';
import { formatTime } from '../../domain/time';
import type { TopicRef } from '../../domain/incident';
import type { RunbookRule } from '../../config/runbook-schema';
import { CLIENT_PROMPT, renderHints } from './rules';
import type { StormState } from './storm';

/** What the summary shows about one host. */
export interface StormHost {
  host: string;
  /** Its critical triggers that opened in the storm, oldest first. */
  triggers: string[];
  /** Where its latest critical incident is discussed now (the ✔ topic once marked resolved). */
  topic?: TopicRef;
  /** Every critical incident it had in the storm is resolved. */
  resolved: boolean;
}

export interface SummaryInput {
  state: StormState;
  /** In the order they joined. */
  hosts: readonly StormHost[];
  within: number;
  timeZone: string;
  /** The configured rules (the folded hints' texts). */
  rules: readonly RunbookRule[];
  /** Set once the storm is over: how long it was quiet. */
  over?: { quiet: number };
}

/** Zulip takes 10,000 characters; the summary stays well under. */
export const SUMMARY_BUDGET = 9_000;
const TRIGGERS_PER_HOST = 2;
const HOSTS_PER_HINT = 5;

function list(names: readonly string[], max: number): string {
  const shown = names.slice(0, max).map((n) => outside(n, { max: 100 }));
  return shown.join(', ') + (names.length > max ? ` +${names.length - max} more` : '');
}

export function renderSummary(input: SummaryInput): string {
  const { state, hosts, timeZone } = input;
  const resolved = hosts.filter((h) => h.resolved).length;
  const open = hosts.length - resolved;
  const counts = `${open} open, ${resolved} resolved`;
  const head = input.over
    ? `🌩️ **Storm over**: no new critical problem for ${formatDuration(input.over.quiet)}. Critical problems on ${hosts.length} hosts from ${formatTime(state.startedAt, timeZone)} to ${formatTime(state.lastOpenAt, timeZone)} — ${counts}.`
    : `🌩️ **Storm: critical problems on ${hosts.length} hosts** since ${formatTime(state.startedAt, timeZone)} — ${counts}. That is likely one shared cause (a crashed server, the router, the network): look for it first — what fires in Zabbix, what these hosts share — and handle the likely root cause before working topic by topic; then link its topic from the others it resolves.`;
  const lines = [head];

  // What fires most, by hosts.
  const byTrigger = new Map<string, number>();
  for (const h of hosts) for (const t of new Set(h.triggers)) byTrigger.set(t, (byTrigger.get(t) ?? 0) + 1);
  // Only what several hosts share says something about a common cause.
  const top = [...byTrigger].filter(([, n]) => n > 1).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 3);
  if (top.length > 0) lines.push(`Most common: ${top.map(([t, n], i) => `**${outside(t, { max: 150 })}** on ${n}${i === 0 ? ' hosts' : ''}`).join(', ')}.`);

  // What the hosts' topics did not get, said once here.
  const folded = Object.entries(state.folded ?? {});
  const clients = folded.some(([, f]) => f.clients);
  const hintHosts = new Map<string, string[]>();
  for (const [host, f] of folded) for (const name of f.hints ?? []) hintHosts.set(name, [...(hintHosts.get(name) ?? []), host]);
  const checklists = folded.reduce((n, [, f]) => n + (f.checklists?.length ?? 0), 0);
  if (clients || hintHosts.size > 0 || checklists > 0) {
    lines.push('', "**Said here once instead of in each host's topic:**");
    if (clients) lines.push(CLIENT_PROMPT);
    for (const [name, on] of hintHosts) {
      const rule = input.rules.find((r) => r.name === name);
      if (rule) lines.push(`${renderHints([rule])} (${list(on, HOSTS_PER_HINT)})`);
    }
    if (checklists > 0) lines.push(`📋 The non-critical checklists of ${checklists} topic${checklists === 1 ? '' : 's'} of these hosts were not posted: \`!names\` in a topic gives its Kimai activity, milestone and Lynx project name.`);
  }

  lines.push('', `**Hosts** (this message is kept up to date; ✅ resolved):`);
  let used = lines.join('\n').length;
  let shown = 0;
  for (const h of hosts) {
    const where = h.topic ? ` — ${topicLink(h.topic.stream, h.topic.topic)}` : '';
    const name = outside(h.host, { max: 100 });
    const line = h.resolved
      ? `- ✅ ~~**${name}**~~${where}`
      : `- **${name}**: ${list(h.triggers, TRIGGERS_PER_HOST) || 'critical problem'}${where}`;
    // Room for the line and the closing "…and N more" line.
    if (used + line.length + 1 > SUMMARY_BUDGET - 200) break;
    lines.push(line);
    used += line.length + 1;
    shown++;
  }
  const rest = hosts.slice(shown);
  if (rest.length > 0) {
    const restResolved = rest.filter((h) => h.resolved).length;
    lines.push(`…and ${rest.length} more host${rest.length === 1 ? '' : 's'} (${rest.length - restResolved} open, ${restResolved} resolved): \`!ongoing\` lists every open incident.`);
  }
  return lines.join('\n');
}
