/**
 * The `runbook` config section: hint rules, the client-communication prompt and its exceptions,
 * `!recheck` and the several-hosts ("storm") notice. Defaults carry the team's process (the
 * incident-handling wiki's "Common issues", "Some known issues and their resolutions" and
 * "Communicate to affected clients"). Regular expressions are compiled here, at start-up: a bad
 * one is a config error naming the rule. Matching is case-insensitive.
 */
import { z } from 'zod';
import { parseDuration } from '../../domain/duration';

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];
export const INCIDENT_CLASSES = ['critical', 'non-critical', 'informational'] as const;

/** The team's custom SSH configuration (linked from the process). */
export const CUSTOM_SSH_CONFIG_LINK = 'https://chat.dsinternal.net/#narrow/stream/23-SRE---General/topic/DS.20Whitelisted.20Custom.20SSH.20configuration/near/1620';

/** A rule as written in the config file. */
export interface RunbookRuleInput {
  name: string;
  trigger?: string;
  host?: string;
  class?: (typeof INCIDENT_CLASSES)[number] | (typeof INCIDENT_CLASSES)[number][];
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

const duration = (fallback: string) =>
  z
    .string({ error: 'expected a duration like "30s"' })
    .default(fallback)
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: `expected a duration like "30s" (got ${JSON.stringify(text)})` });
        return z.NEVER;
      }
      return ms;
    });

const text = (what: string, max: number) =>
  z
    .string({ error: `expected ${what}` })
    .trim()
    .min(1, { error: `expected ${what}, got an empty string` })
    .max(max, { error: `expected ${what} of at most ${max} characters` });

/** Compiles a pattern (case-insensitive); the error names the rule. */
function compile(pattern: string | undefined, key: string, ruleName: string, ctx: z.RefinementCtx): RegExp | undefined {
  if (pattern === undefined) return undefined;
  try {
    return new RegExp(pattern, 'i');
  } catch (err) {
    const why = (err as Error).message.replace(/^Invalid regular expression:\s*/, '');
    ctx.addIssue({ code: 'custom', path: [key], message: `invalid regular expression: ${why} (rule "${ruleName}")` });
    return undefined;
  }
}

const matcherFields = {
  name: text('a rule name', 100),
  trigger: z.string({ error: 'expected a regular expression' }).max(1000).optional(),
  host: z.string({ error: 'expected a regular expression' }).max(1000).optional(),
};

const ruleSchema = z
  .strictObject({
    ...matcherFields,
    class: z
      .union([z.enum(INCIDENT_CLASSES), z.array(z.enum(INCIDENT_CLASSES)).min(1)], { error: `expected one of ${INCIDENT_CLASSES.join(', ')} or a list of them` })
      .optional(),
    days: z.array(z.enum(WEEKDAYS, { error: `expected a weekday: ${WEEKDAYS.join(', ')}` })).min(1).optional(),
    hint: text('the hint text', 1500),
    link: z
      .string({ error: 'expected a URL' })
      .refine((s) => /^https?:\/\/\S+$/.test(s), { error: 'expected an http(s) URL' })
      .optional(),
  })
  .transform((r, ctx) => {
    if (r.trigger === undefined && r.host === undefined) ctx.addIssue({ code: 'custom', path: ['trigger'], message: `give trigger and/or host (rule "${r.name}")` });
    const trigger = compile(r.trigger, 'trigger', r.name, ctx);
    const host = compile(r.host, 'host', r.name, ctx);
    return {
      name: r.name,
      ...(trigger ? { trigger } : {}),
      ...(host ? { host } : {}),
      ...(r.class !== undefined ? { classes: typeof r.class === 'string' ? [r.class] : r.class } : {}),
      ...(r.days ? { days: r.days } : {}),
      hint: r.hint,
      ...(r.link ? { link: r.link } : {}),
    };
  });

const exceptionSchema = z.strictObject(matcherFields).transform((r, ctx) => {
  if (r.trigger === undefined && r.host === undefined) ctx.addIssue({ code: 'custom', path: ['trigger'], message: `give trigger and/or host (exception "${r.name}")` });
  const trigger = compile(r.trigger, 'trigger', r.name, ctx);
  const host = compile(r.host, 'host', r.name, ctx);
  return { name: r.name, ...(trigger ? { trigger } : {}), ...(host ? { host } : {}) };
});

const uniqueNames = <T extends { name: string }>(list: T[], ctx: z.RefinementCtx) => {
  const seen = new Set<string>();
  list.forEach((r, i) => {
    if (seen.has(r.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate rule name "${r.name}"` });
    seen.add(r.name);
  });
};

export const runbookSchema = z
  .strictObject({
    /** Hint rules; giving the list replaces the defaults (`[]`: no hints). */
    rules: z.array(ruleSchema, { error: 'expected a list of rules' }).max(200).superRefine(uniqueNames).prefault(() => DEFAULT_RULES.map((r) => ({ ...r }))),
    clientPrompt: z
      .strictObject({
        enabled: z.boolean({ error: 'expected true or false' }).default(true),
        /** Critical incidents that need no client message; giving the list replaces the defaults. */
        exceptions: z.array(exceptionSchema, { error: 'expected a list of exceptions' }).max(200).superRefine(uniqueNames).prefault(() => DEFAULT_CLIENT_EXCEPTIONS.map((r) => ({ ...r }))),
      })
      .prefault({}),
    recheck: z
      .strictObject({
        /** How long `!recheck` watches the triggers after asking Zabbix to execute their items. */
        wait: duration('30s').refine((ms) => ms <= 600_000, { error: 'expected at most 10m' }),
      })
      .prefault({}),
    storm: z
      .strictObject({
        /** More critical hosts than this within `within` make a storm. */
        hosts: z.number({ error: 'expected a number of hosts' }).int().min(1).max(1000).default(3),
        within: duration('5m'),
        topic: text('a topic name', 60).default('Several hosts down'),
        /** Hosts joining a running storm are appended at most this often. */
        followUpEvery: duration('1m'),
      })
      .prefault({}),
  })
  .prefault({});

export type RunbookConfig = z.output<typeof runbookSchema>;
export type RunbookRule = RunbookConfig['rules'][number];
export type ClientException = RunbookConfig['clientPrompt']['exceptions'][number];
