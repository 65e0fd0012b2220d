/**
 * The team's runbook knowledge: the default hint rules and client-prompt exceptions, from the
 * incident-handling wiki's "Common issues", "Some known issues and their resolutions" and
 * "Communicate to affected clients". The config section (src/config/runbook-schema.ts) validates
 * and compiles rules written in this shape; these are its defaults.
 */
import { CLASS_ORDER } from './classes';

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** The team's custom SSH configuration (linked from the process). */
export const CUSTOM_SSH_CONFIG_LINK = 'https://chat.dsinternal.net/#narrow/stream/23-SRE---General/topic/DS.20Whitelisted.20Custom.20SSH.20configuration/near/1620';

/** A rule as written in the config file. */
export interface RunbookRuleInput {
  name: string;
  trigger?: string;
  host?: string;
  class?: (typeof CLASS_ORDER)[number] | (typeof CLASS_ORDER)[number][];
  days?: Weekday[];
  hint: string;
  link?: string;
}

/** An exception to the client prompt, as written in the config file. */
export interface ClientExceptionInput {
  name: string;
  trigger?: string;
  host?: string;
}

/** A line's start: the text's, or just after a line break. */
const LINE_START = String.raw`(?:^|(?<=\n))`;

/**
 * `A.*B.*…Z` (the parts in this order on one line), in time linear in the text. Written plainly,
 * a backtracking engine tries every way to place each part — and, unanchored, every start:
 * `a.*b.*c` costs up to n³ steps (seconds on a 10,000-character trigger name). Here every part
 * but the last is found once, at its first place, inside a lookahead that a back-reference then
 * consumes — `(?=(.*?A))\1`, an atomic group in JavaScript's syntax: lookaheads are never
 * backtracked into. The first place is enough: if the rest follows a later A, it follows the
 * first one too. Anchored at line starts, the engine does not retry at every position. Matches
 * what `A.*B.*…Z` matches. `group` is the number of the first capture group used; the parts must
 * have no capture groups of their own.
 */
function inOrder(group: number, ...parts: string[]): string {
  const last = parts.length - 1;
  return parts.map((p, k) => (k < last ? `(?=(.*?${p}))\\${group + k}` : `.*?${p}`)).join('');
}

/** Trigger names as Zabbix's templates and the team word them (case-insensitive). Each runs in linear time (see inOrder). */
export const SSH_DOWN = LINE_START + inOrder(1, String.raw`\bssh\b`, String.raw`\b(?:is down|down|not running|unreachable|unavailable|not responding)\b`);
export const NO_BACKUP =
  LINE_START +
  `(?:${inOrder(1, String.raw`\b(?:no|missing)\b`, String.raw`\bbackups?\b`)}|${inOrder(2, String.raw`\bbackups?\b`, String.raw`\b(?:missing|too old|older than|not (?:done|made|run|completed))\b`)})`;
export const HTTPS_DOWN = LINE_START + inOrder(1, String.raw`\bhttps\b`, String.raw`\b(?:down|unreachable|unavailable|not responding)\b`);
/** "SSL certificate is expiring in < 24 hours", "… expires in less than 1 day", "… expires within 24h". */
export const CERT_EXPIRING_SOON =
  LINE_START + inOrder(1, String.raw`\bcert(?:ificate)?s?\b`, String.raw`\bexpir(?:es|ing|y)\b`, String.raw`(?:<|less than|under|within|in)\s*(?:24\s*h(?:ours?)?|1\s*day|one day)\b`);

export const DEFAULT_RULES: readonly RunbookRuleInput[] = [
  {
    name: 'SSH service down',
    trigger: SSH_DOWN,
    hint:
      "often not sshd itself but its MaxStartups throttling (constant port scans) refusing Zabbix's checks. " +
      `Check: \`journalctl -u ssh --since "2 hours ago" | grep 'MaxStartups throttling'\` and compare the throttling start and end times with the item's data in Zabbix. ` +
      'Fix: apply our custom SSH configuration.',
    link: CUSTOM_SSH_CONFIG_LINK,
  },
  {
    name: 'No backup',
    trigger: NO_BACKUP,
    hint:
      'the S3 backups are slow (a run takes 24 h+), so first check that the backup process is still running; ' +
      "in Zabbix's latest data, check that today's backups of the smaller buckets were done; " +
      'check the devteam mail for a run that could not start because the previous one was still running (cron tries daily).',
  },
  {
    name: 'GitLab update (Sunday)',
    trigger: HTTPS_DOWN,
    host: String.raw`^git\.`,
    days: ['sun'],
    hint: "on Sundays GitLab updates itself automatically and restarts, which takes HTTPS down for a while. If it comes back up and stays up, just resolve the incident.",
  },
];

export const DEFAULT_CLIENT_EXCEPTIONS: readonly ClientExceptionInput[] = [
  { name: 'SSH service down (internal: maintenance and publishing)', trigger: SSH_DOWN },
  { name: 'No backup (clients do not notice a late backup)', trigger: NO_BACKUP },
  { name: 'Certificate expiring in under 24 h (no disruption when handled in time)', trigger: CERT_EXPIRING_SOON },
];

