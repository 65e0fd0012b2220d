/**
 * Config of ownership (issue 19): `areas` (name → host patterns and/or Zabbix host groups) and
 * `escalation` (who is mentioned when an incident stays unacknowledged). Host patterns are
 * regular expressions, compiled here at start-up, case-insensitive, and refused when they can
 * backtrack catastrophically (./regex-safety.ts), like the runbook's.
 */
import { z } from 'zod';
import { catastrophicPattern } from './regex-safety';

const email = z.string({ error: 'expected an email address' }).regex(/^[^@\s]+@[^@\s]+$/, { error: 'expected an email address' });

/** An area name as people type it after `!handling area`. */
export const AREA_NAME = /^[\p{L}\p{N}][\p{L}\p{N} ._-]{0,59}$/u;

/** Compiles a host pattern (case-insensitive); undefined with the reason when it is invalid or unsafe. */
export function compileHostPattern(pattern: string): { re: RegExp } | { error: string } {
  let re: RegExp;
  try {
    re = new RegExp(pattern, 'i');
  } catch (err) {
    return { error: `invalid regular expression: ${(err as Error).message.replace(/^Invalid regular expression:\s*/, '')}` };
  }
  const catastrophic = catastrophicPattern(pattern);
  if (catastrophic) return { error: `regular expression /${pattern}/i can take exponential or runaway time on a long name: ${catastrophic}; rewrite it` };
  return { re };
}

const areaSchema = z.strictObject({
  /** Regular expressions over the host name (case-insensitive). */
  hosts: z.array(z.string({ error: 'expected a regular expression' }).min(1).max(1000), { error: 'expected a list of regular expressions' }).max(100).optional(),
  /** Zabbix host groups (exact names, case-insensitive); needs zabbix.url. */
  hostGroups: z.array(z.string({ error: 'expected a host group name' }).trim().min(1).max(255), { error: 'expected a list of Zabbix host group names' }).max(100).optional(),
});

export interface AreaConfig {
  name: string;
  hosts: RegExp[];
  hostGroups: string[];
}

export const areasSchema = z
  .record(z.string(), areaSchema, { error: 'expected an object of areas: { "<name>": { "hosts": [...], "hostGroups": [...] } }' })
  .default({})
  .transform((areas, ctx): AreaConfig[] => {
    const out: AreaConfig[] = [];
    const seen = new Set<string>();
    for (const [name, a] of Object.entries(areas)) {
      if (!AREA_NAME.test(name)) {
        ctx.addIssue({ code: 'custom', path: [name], message: 'an area name is letters, digits, spaces, ".", "_" or "-" (at most 60, starting with a letter or digit)' });
        continue;
      }
      if (seen.has(name.toLowerCase())) ctx.addIssue({ code: 'custom', path: [name], message: `duplicate area name "${name}" (names are case-insensitive)` });
      seen.add(name.toLowerCase());
      if ((a.hosts ?? []).length === 0 && (a.hostGroups ?? []).length === 0) {
        ctx.addIssue({ code: 'custom', path: [name], message: `give hosts and/or hostGroups (area "${name}")` });
        continue;
      }
      const hosts: RegExp[] = [];
      (a.hosts ?? []).forEach((p, i) => {
        const c = compileHostPattern(p);
        if ('error' in c) ctx.addIssue({ code: 'custom', path: [name, 'hosts', i], message: `${c.error} (area "${name}")` });
        else hosts.push(c.re);
      });
      out.push({ name, hosts, hostGroups: a.hostGroups ?? [] });
    }
    return out;
  });

const target = {
  /** A Zulip user group, mentioned as `@*group*`. */
  group: z.string({ error: 'expected a Zulip user group name' }).trim().min(1).max(100).optional(),
  /** People by Zulip email, mentioned as `@**Name|id**`. */
  people: z.array(email, { error: 'expected a list of email addresses' }).max(50).optional(),
};

const stepSchema = (fallback: number) =>
  z
    .strictObject({
      /** Reminders that go unacknowledged before the first step; 0 turns escalation off for the class. */
      after: z.number({ error: 'expected a number of reminders' }).int().min(0).max(1000).default(fallback),
      /** An optional second step: after that many more reminders, mention these (default: the first step's again). */
      then: z.strictObject({ after: z.number({ error: 'expected a number of reminders' }).int().min(1).max(1000), ...target }).optional(),
    })
    .prefault({});

export const escalationSchema = z
  .strictObject({
    ...target,
    critical: stepSchema(3),
    nonCritical: stepSchema(3),
    /** Off unless `after` is set. */
    informational: stepSchema(0),
  })
  .prefault({});

export type EscalationConfig = z.output<typeof escalationSchema>;

/** The Zulip emails → Zabbix usernames mapping (`zabbix.users`). */
export const zabbixUsersSchema = z.record(email, z.string({ error: 'expected a Zabbix username' }).trim().min(1).max(100), { error: 'expected an object { "<zulip email>": "<zabbix username>" }' }).default({});
