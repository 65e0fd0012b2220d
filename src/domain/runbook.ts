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

/** Trigger names as Zabbix's templates and the team word them (case-insensitive). */
export const SSH_DOWN = String.raw`\bssh\b.*\b(is down|down|not running|unreachable|unavailable|not responding)\b`;
export const NO_BACKUP = String.raw`\b(no|missing)\b.*\bbackups?\b|\bbackups?\b.*\b(missing|too old|older than|not (done|made|run|completed))\b`;
export const HTTPS_DOWN = String.raw`\bhttps\b.*\b(down|unreachable|unavailable|not responding)\b`;
/** "SSL certificate is expiring in < 24 hours", "… expires in less than 1 day", "… expires within 24h". */
export const CERT_EXPIRING_SOON = String.raw`\bcert(ificate)?s?\b.*\bexpir(es|ing|y)\b.*(<|less than|under|within|in)\s*(24\s*h(ours?)?|1\s*day|one day)\b`;

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

