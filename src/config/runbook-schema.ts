/**
 * The `runbook` config section: hint rules, the client-communication prompt and its exceptions,
 * `!recheck` and the several-hosts ("storm") notice, with the process's defaults
 * (src/domain/runbook.ts). Regular expressions are compiled here, at start-up: a bad one, or
 * one that can backtrack catastrophically (./regex-safety.ts), is a config error naming the
 * rule. Matching is case-insensitive.
 */
import { z } from 'zod';
import { CLASS_ORDER } from '../domain/classes';
import { parseDuration } from '../domain/duration';
import { DEFAULT_CLIENT_EXCEPTIONS, DEFAULT_RULES, WEEKDAYS } from '../domain/runbook';
import { catastrophicPattern } from './regex-safety';

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

/** Compiles a pattern (case-insensitive); the error names the rule. One that can backtrack catastrophically is refused too (./regex-safety.ts). */
function compile(pattern: string | undefined, key: string, ruleName: string, ctx: z.RefinementCtx): RegExp | undefined {
  if (pattern === undefined) return undefined;
  let re: RegExp;
  try {
    re = new RegExp(pattern, 'i');
  } catch (err) {
    const why = (err as Error).message.replace(/^Invalid regular expression:\s*/, '');
    ctx.addIssue({ code: 'custom', path: [key], message: `invalid regular expression: ${why} (rule "${ruleName}")` });
    return undefined;
  }
  const catastrophic = catastrophicPattern(pattern);
  if (catastrophic) {
    ctx.addIssue({ code: 'custom', path: [key], message: `regular expression /${pattern}/i can take exponential or runaway time on a long name: ${catastrophic}; rewrite it (rule "${ruleName}")` });
    return undefined;
  }
  return re;
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
      .union([z.enum(CLASS_ORDER), z.array(z.enum(CLASS_ORDER)).min(1)], { error: `expected one of ${CLASS_ORDER.join(', ')} or a list of them` })
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
        /** The storm summary (one message edited in place) is brought up to date at most this often. */
        followUpEvery: duration('15s'),
        /** A storm ends after this long without a new critical problem; the next one starts a new summary. */
        quiet: duration('10m'),
      })
      .prefault({}),
  })
  .prefault({});

export type RunbookConfig = z.output<typeof runbookSchema>;
export type RunbookRule = RunbookConfig['rules'][number];
export type ClientException = RunbookConfig['clientPrompt']['exceptions'][number];
