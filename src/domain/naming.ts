/**
 * The team's naming conventions for non-critical incidents, and Lynx project IDs in chat.
 * Pure: the time zone and organisation are passed in.
 */
import { dateFormat } from '../core/time-format';

/** `SRE` + YYMM + three letters, as a word, any case. */
const PROJECT_ID_RE = /(?<![A-Za-z0-9_])SRE(\d{4})([A-Za-z]{3})(?![A-Za-z0-9_])/gi;

/** Lynx project IDs mentioned in a message, upper-cased, each once, in order. */
export function findProjectIds(text: string): string[] {
  const out: string[] = [];
  for (const m of text.slice(0, 20_000).matchAll(PROJECT_ID_RE)) {
    const id = `SRE${m[1]}${(m[2] as string).toUpperCase()}`;
    if (!out.includes(id)) out.push(id);
  }
  return out;
}

/** A single project ID as a command argument, or undefined. */
export function parseProjectId(text: string): string | undefined {
  const ids = findProjectIds(text.trim());
  return ids.length === 1 && text.trim().length === 10 ? ids[0] : undefined;
}

/** Year and month of an instant in a time zone. */
export function yearMonth(at: number, timeZone: string): { year: number; month: number } {
  const parts = dateFormat('en-GB', { timeZone, year: 'numeric', month: '2-digit' }).formatToParts(new Date(at));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  return { year: get('year'), month: get('month') };
}

/** Three letters for a host: the letters of its first label, then of the next ones, padded with X. */
export function hostLetters(host: string): string {
  const labels = host.toUpperCase().split('.');
  let letters = '';
  for (const l of labels) {
    letters += l.replace(/[^A-Z]/g, '');
    if (letters.length >= 3) break;
  }
  return (letters + 'XXX').slice(0, 3);
}

const MAX_TITLE = 120;

/** The problem title: the trigger name, with the host added when the name does not say it. */
export function problemTitle(triggerName: string, host: string): string {
  const trigger = triggerName.replace(/\s+/g, ' ').trim();
  const full = trigger.toLowerCase().includes(host.toLowerCase()) ? trigger : `${trigger} on ${host}`;
  if (full.length <= MAX_TITLE) return full;
  const suffix = trigger.toLowerCase().includes(host.toLowerCase()) ? '' : ` on ${host}`;
  const room = MAX_TITLE - suffix.length - 1;
  const cut = trigger.slice(0, room);
  const atWord = cut.lastIndexOf(' ') > room / 2 ? cut.slice(0, cut.lastIndexOf(' ')) : cut;
  return `${atWord}…${suffix}`;
}

export interface IncidentNames {
  kimaiActivity: string;
  milestone: string;
  lynxProject: string;
  lynxId: string;
  /** YYYY-MM-DD of the alert in the time zone (milestone start date). */
  startDate: string;
}

export interface NamingInput {
  triggerName: string;
  host: string;
  /** When the incident opened (ms since the epoch). */
  at: number;
  timeZone: string;
  organisation: string;
  /** Three letters for the Lynx ID; derived from the host when absent. */
  letters?: string;
}

export function incidentNames(n: NamingInput): IncidentNames {
  const { year, month } = yearMonth(n.at, n.timeZone);
  const mm = String(month).padStart(2, '0');
  const kimaiActivity = `${year}-${mm} ${problemTitle(n.triggerName, n.host)}`;
  const project = `${n.organisation} Incident response work ${kimaiActivity}`;
  const day = dateFormat('en-CA', { timeZone: n.timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(n.at));
  return {
    kimaiActivity,
    milestone: project,
    lynxProject: project,
    lynxId: `SRE${String(year).slice(2)}${mm}${(n.letters ?? hostLetters(n.host)).toUpperCase()}`,
    startDate: day,
  };
}
