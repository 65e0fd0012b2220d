import type { SlaConfig } from '../domain/sla';
import { z } from 'zod';
import { parseDuration } from '../domain/duration';
import { runbookSchema } from './runbook-schema';
import { areasSchema, escalationSchema, zabbixUsersSchema } from './ownership-schema';
import { WEEKDAYS } from '../domain/runbook';
import { cronProblem } from '../ops/cron';
import { normaliseSite } from './zuliprc';

/** A duration text ("1h") as milliseconds; an issue for anything else. */
function toMs(text: string, ctx: z.RefinementCtx): number {
  const ms = parseDuration(text);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected a duration like "1h" (got ${JSON.stringify(text)})` });
    return z.NEVER;
  }
  return ms;
}

/** A duration string ("1h") validated and turned into milliseconds. */
const duration = (fallback: string) => z.string({ error: 'expected a duration like "1h"' }).default(fallback).transform(toMs);

/** The same, with no default: undefined when not given. */
const optionalDuration = () =>
  z
    .string({ error: 'expected a duration like "1h"' })
    .optional()
    .transform((text, ctx) => (text === undefined ? undefined : toMs(text, ctx)));

const nonEmpty = (what: string) => z.string({ error: `expected ${what}` }).trim().min(1, { error: `expected ${what}, got an empty string` });

const zulipSite = z.string({ error: 'expected a URL like "https://chat.example.org"' }).transform((s, ctx) => {
  const n = normaliseSite(s);
  if ('error' in n) {
    ctx.addIssue({ code: 'custom', message: n.error });
    return z.NEVER;
  }
  return n.site;
});

const httpUrl = z
  .string({ error: 'expected a URL like "https://chat.example.org"' })
  .refine((s) => /^https?:\/\/[^\s/]+/.test(s), { error: 'expected an http(s) URL like "https://chat.example.org"' })
  .transform((s) => s.replace(/\/+$/, ''));

export const configSchema = z.strictObject({
  zulip: z
    .strictObject({
      /** Normalised as python-zulip-api does: no scheme → https:// (http:// for localhost), no trailing slash. */
      site: zulipSite.optional(),
      email: nonEmpty('the bot\'s email').optional(),
      apiKey: nonEmpty('the bot\'s API key').optional(),
      /** A zuliprc file (python-zulip-api's format); src/config/zuliprc.ts reads it. */
      zuliprc: nonEmpty('a path to a zuliprc file').optional(),
      /** Do not verify the server's TLS certificate (a zuliprc's `insecure`). */
      insecure: z.boolean({ error: 'expected true or false' }).optional(),
      /** A CA bundle (PEM file) for the server's certificate (a zuliprc's `cert_bundle`). */
      certBundle: nonEmpty('a path to a PEM file').optional(),
      /** `!resolve` and `!resolved-by` also mark the Zulip topic resolved (✔); needs the right to move topics. */
      resolveTopics: z.boolean({ error: 'expected true or false' }).default(true),
      /** On the first start (an empty store), how far back the alert streams are read for open incidents. */
      importWindow: duration('14d'),
      /**
       * How long after posting the bot may edit its messages (status cards, storm summaries).
       * Unset: the realm's "Time limit for editing messages" (message_content_edit_limit_seconds),
       * which Zulip sends when the bot registers its event queue; 10 minutes (Zulip's default)
       * until it has. After it, a fresh message is posted and kept up to date instead.
       */
      editWindow: optionalDuration(),
    })
    // site, email and apiKey may come from the environment or a zuliprc: src/config/load.ts checks them.
    .prefault({}),
  streams: z
    .strictObject({
      critical: nonEmpty('a stream name').default('SRE # Critical'),
      nonCritical: nonEmpty('a stream name').default('SRE ## Non-critical'),
      informational: nonEmpty('a stream name').default('SRE ### Informational'),
      general: nonEmpty('a stream name').default('SRE - General'),
      organisational: nonEmpty('a stream name').default('Organisational'),
    })
    .prefault({}),
  alerts: z.strictObject({
    senders: z
      .array(z.string().regex(/^[^@\s]+@[^@\s]+$/, { error: 'expected an email address' }), {
        error: 'expected a list of email addresses',
      })
      .min(1, { error: 'expected at least one sender email (the Zabbix webhook bot)' }),
  }),
  sla: z
    .strictObject({
      critical: z
        .strictObject({ remindEvery: duration('1h'), resolveWithin: duration('16h') })
        .prefault({}),
      nonCritical: z
        .strictObject({ remindEvery: duration('8h'), ackWithin: duration('9h'), resolveWithin: duration('7d') })
        .prefault({}),
      informational: z
        .strictObject({ remindEvery: duration('8h'), ackWithin: duration('72h') })
        .prefault({}),
    })
    .prefault({}),
  store: z
    .strictObject({
      path: nonEmpty('a file path').default('zulip-sre-bot.db'),
      // PostgreSQL instead of the SQLite file (issue 22; DATABASE_URL overrides): several instances, one active.
      url: z
        .string({ error: 'expected a PostgreSQL URL like "postgres://bot@db.example.org/sre_bot"' })
        .refine((s) => /^postgres(ql)?:\/\/\S*$/.test(s), { error: 'expected a PostgreSQL URL like "postgres://bot@db.example.org/sre_bot"' })
        .optional(),
    })
    .prefault({}),
  // High availability with store.url (issue 22): how soon a standby takes over from a leader gone or cut off.
  ha: z.strictObject({ failover: duration('30s') }).prefault({}),
  zabbix: z
    .strictObject({
      url: httpUrl.optional(),
      token: nonEmpty('an API token').optional(),
      syncEvery: duration('1m'),
      /** Severities the sync adopts as lost webhooks (a problem Zabbix has whose alert post never came); others it leaves alone. */
      severities: z
        .array(
          z.enum(['Not classified', 'Information', 'Warning', 'Average', 'High', 'Disaster'], {
            error: (iss) => `expected a Zabbix severity name: "Not classified", "Information", "Warning", "Average", "High" or "Disaster" (got ${JSON.stringify(iss.input)})`,
          }),
          { error: 'expected a list of Zabbix severity names, e.g. ["Warning", "Average", "High", "Disaster"]' },
        )
        .default(['Not classified', 'Information', 'Warning', 'Average', 'High', 'Disaster']),
      /** Zabbix user group that Zabbix's action notifies (phone/SMS): a completed handover moves the new FR's Zabbix user in and the old FR's out. */
      firstResponder: nonEmpty('a Zabbix user group name').optional(),
      /** Zulip email → Zabbix username, for people whose Zabbix user has no e-mail media with their Zulip email. */
      users: zabbixUsersSchema,
    })
    .prefault({}),
  /** GitLab issue tracking (src/features/gitlab/): optional, off until url, token and project are given. */
  gitlab: z
    .strictObject({
      url: httpUrl.optional(),
      token: nonEmpty('an access token with the api scope').optional(),
      /** The project's numeric id or its path ("sre/incidents"). */
      project: z
        .union([z.number().int().positive(), nonEmpty('a project id or path')], { error: 'expected a project id (a number) or path like "sre/incidents"' })
        .optional(),
      /** Incident classes that get an issue when they open. */
      classes: z
        .array(z.enum(['critical', 'non-critical', 'informational'], { error: 'expected "critical", "non-critical" or "informational"' }), { error: 'expected a list of incident classes' })
        .default(['critical', 'non-critical']),
      labels: z.array(nonEmpty('a label'), { error: 'expected a list of labels' }).default(['incident']),
      syncEvery: duration('1m'),
      /** Closing the issue on GitLab resolves its incidents. */
      closeResolves: z.boolean({ error: 'expected true or false' }).default(false),
      /** Secret GitLab sends in X-Gitlab-Token to POST /gitlab/webhook (needs http.port); absent: no webhook, polling only. */
      webhookToken: nonEmpty('a secret token').optional(),
    })
    .superRefine((g, ctx) => {
      // A token alone (GITLAB_TOKEN in the environment) does not turn GitLab on.
      const given = g.url !== undefined || g.project !== undefined || g.webhookToken !== undefined;
      if (!given) return;
      if (g.url === undefined) ctx.addIssue({ code: 'custom', path: ['url'], message: 'required when gitlab is configured (the GitLab base URL, e.g. "https://git.example.org")' });
      if (g.token === undefined) ctx.addIssue({ code: 'custom', path: ['token'], message: 'required when gitlab is configured (or set GITLAB_TOKEN)' });
      if (g.project === undefined) ctx.addIssue({ code: 'custom', path: ['project'], message: 'required when gitlab is configured (a project id or path like "sre/incidents")' });
    })
    .prefault({}),
  http: z
    .strictObject({
      port: z.number({ error: 'expected a port number' }).int().min(0).max(65535).optional(),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    })
    .prefault({}),
  /** First responder: who counts as SRE team (needs all four streams), working hours for !handling. */
  firstResponder: z
    .strictObject({
      workingHours: z
        .strictObject({
          start: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: 'expected a time like "09:00"' }).default('09:00'),
          end: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: 'expected a time like "17:00"' }).default('17:00'),
        })
        .prefault({}),
      /** Emails of the SRE team; absent: everyone is treated as SRE team. */
      sreTeam: z.array(z.string().regex(/^[^@\s]+@[^@\s]+$/, { error: 'expected an email address' })).optional(),
      announceTopic: nonEmpty('a topic name').default('First responder handover'),
      /** Zulip user group whose members alone may set or hand over the first responder; absent: anyone. */
      group: nonEmpty('a Zulip user group name').optional(),
      /** Working days (in `timezone`): `!handling` lasts until the end of the working day (see src/features/responders/working-hours.ts). */
      workingDays: z
        .array(z.enum(WEEKDAYS, { error: `expected a weekday: ${WEEKDAYS.join(', ')}` }), { error: 'expected a list of weekdays, e.g. ["mon", "tue", "wed", "thu", "fri"]' })
        .min(1)
        .default(['mon', 'tue', 'wed', 'thu', 'fri']),
      /** How long a handover waits for the other side's confirmation. */
      handoverExpiry: duration('30m'),
    })
    .prefault({}),
  /** The weekly SLA report posted to the general stream (node-cron expression, in `timezone`). */
  reports: z
    .strictObject({
      weeklyCron: z
        .string({ error: 'expected a cron expression like "0 9 * * 1"' })
        .superRefine((e, ctx) => {
          const problem = cronProblem(e);
          if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
        })
        .default('0 9 * * 1'),
      topic: nonEmpty('a topic name').default('SLA report'),
    })
    .prefault({}),
  /** The team's naming conventions (non-critical workflow). */
  naming: z
    .strictObject({ organisation: nonEmpty('an organisation name').default('Delft Solutions Hosting') })
    .prefault({}),
  /** Time zone for names, times shown in chat and working hours (IANA name). */
  timezone: z
    .string({ error: 'expected an IANA time zone like "Europe/Amsterdam"' })
    .refine((tz) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, { error: 'expected an IANA time zone like "Europe/Amsterdam"' })
    .default('Europe/Amsterdam'),
  /** Outgoing requests per minute the bot allows itself (Zulip's default limit is 200). */
  rateLimit: z
    .strictObject({ perMinute: z.number().int().min(1).max(10_000).default(150) })
    .prefault({}),
  /** Runbook hints, the client-communication prompt, !recheck, several hosts at once (src/config/runbook-schema.ts). */
  runbook: runbookSchema,
  /** Areas for `!handling`: name → host patterns and/or Zabbix host groups (src/config/ownership-schema.ts). */
  areas: areasSchema,
  /** Who is mentioned when an incident stays unacknowledged after reminders (src/config/ownership-schema.ts). */
  escalation: escalationSchema,
  /** Reactions as actions (issue 18): these emoji (Zulip's names) on an alert post or the bot's message in an incident topic acknowledge. */
  reactions: z
    .strictObject({
      acknowledge: z
        .array(z.string().regex(/^[a-z0-9_+-]{1,60}$/, { error: 'expected a Zulip emoji name like "working_on_it"' }), { error: 'expected a list of Zulip emoji names' })
        .default(['working_on_it', 'eyes']),
    })
    .prefault({}),
  /** One status card per incident topic, edited in place as the state changes (src/features/status-card/). */
  statusCard: z.strictObject({ enabled: z.boolean({ error: 'expected true or false' }).default(true) }).prefault({}),
});

export type BotConfig = z.output<typeof configSchema>;

/** The SLA section's shape is the domain's (src/domain/sla.ts); this checks they agree. */
const _slaShape: (s: BotConfig['sla']) => SlaConfig = (s) => s;
void _slaShape;
