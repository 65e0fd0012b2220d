import fc from 'fast-check';
import type { AlertStatus, ZabbixAlert } from '../domain/alert';
import type { IncidentClass, Severity } from '../domain/classes';
import { MAX_ALERT_POST_LENGTH, parseAlert } from './parse-alert';

/**
 * Property tests for parseAlert. Deterministic by default (seed 42); override with FUZZ_SEED, and the
 * number of runs with FUZZ_RUNS (defaults: 50000 for "never throws", 2000 for the round trip).
 */
function envInt(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number.parseInt(raw, 10);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}
const SEED = envInt('FUZZ_SEED') ?? 42;
const RUNS = envInt('FUZZ_RUNS');
const TIMEOUT_MS = 300_000;

const SEVERITIES: ReadonlyArray<[Severity, IncidentClass]> = [
  ['Not classified', 'informational'],
  ['Information', 'informational'],
  ['Warning', 'non-critical'],
  ['Average', 'non-critical'],
  ['High', 'critical'],
  ['Disaster', 'critical'],
];
const STATUSES: ReadonlyArray<[string, AlertStatus]> = [
  ['PROBLEM', 'PROBLEM'],
  ['OK', 'OK'],
  ['RESOLVED', 'OK'],
];
const UNICODE_EMOJI = ['🔥', '✅', '🚨', '⚠️', '⚠', '❌', '👨‍🚒', '👩🏽‍💻', '🏳️‍🌈', '🇩🇪', '1️⃣', '👍🏽', '🟥'];

const chars = (s: string): fc.Arbitrary<string> => fc.constantFrom(...s.split(''));
const str = (charset: string, minLength: number, maxLength: number): fc.Arbitrary<string> =>
  fc.string({ unit: chars(charset), minLength, maxLength });

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const ALNUM = `${LOWER}ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789`;
const ASCII_PUNCT = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';

/** Markdown-escape for link text: always `\`, `[`, `]`; optionally every ASCII punctuation char. */
function escapeHost(host: string, escapeAll: boolean): string {
  const special = escapeAll ? ASCII_PUNCT : '\\[]';
  let out = '';
  for (const ch of host) out += special.includes(ch) ? `\\${ch}` : ch;
  return out;
}

const noNewlines = (s: string): boolean => !/[\r\n]/.test(s);

const emojiArb = fc.option(
  fc.oneof(fc.constantFrom(...UNICODE_EMOJI), str(`${LOWER}0123456789_+-`, 1, 20).map((n) => `:${n}:`)),
  { nil: undefined },
);

const severitySpellingArb = fc
  .tuple(fc.constantFrom(...SEVERITIES), fc.constantFrom(' ', '_', '-', '  ', '__', ' - '), fc.nat())
  .chain(([[severity, cls], sep]) =>
    fc.mixedCase(fc.constant(severity.replace(' ', sep))).map((spelling) => ({ spelling, severity, cls })),
  );

const statusArb = fc
  .constantFrom(...STATUSES)
  .chain(([word, status]) => fc.mixedCase(fc.constant(word)).map((spelling) => ({ spelling, status })));

const hostArb = fc
  .tuple(str(`${ALNUM}.-_ `, 1, 40), str(`${ALNUM}.-_ []*\\()\``, 0, 10), str(ALNUM, 1, 3))
  .map(([a, b, c]) => `${c}${a}${b}${c}`.trim())
  .filter((h) => h.length > 0);

const triggerArb = fc
  .oneof(
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 80 }),
    fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 400 }),
    fc
      .array(fc.constantFrom('**bold**', '`code`', '[link](http://x.example/a)', '*', ':', 'CPU', 'load', '>', '90%', '\\', '{HOST.NAME}', ' '), {
        minLength: 1,
        maxLength: 30,
      })
      .map((parts) => parts.join(' ')),
  )
  .filter(noNewlines)
  .map((t) => t.trim())
  .filter((t) => t.length > 0);

const itemArb = fc.option(
  fc
    .tuple(fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 }))
    .map(([name, value]) => `${name} is ${value}`.trim())
    .filter(noNewlines),
  { nil: undefined },
);

const idArb = str('0123456789', 1, 20);

const baseArb = fc
  .tuple(
    fc.constantFrom('http', 'https', 'HTTPS', 'Http'),
    fc.array(str(`${LOWER}0123456789-`, 1, 12), { minLength: 1, maxLength: 4 }),
    fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
    fc.array(str(`${ALNUM}-_.~`, 1, 10), { maxLength: 3 }),
  )
  .map(([scheme, labels, port, path]) => {
    const authority = labels.join('.') + (port === undefined ? '' : `:${port}`);
    return `${scheme}://${authority}${path.map((p) => `/${p}`).join('')}`;
  })
  .filter((b) => !b.toLowerCase().includes('/tr_events.php'));

const extraParamArb = fc
  .tuple(str(LOWER, 1, 8), str(`${ALNUM}-_.`, 0, 8))
  .filter(([k]) => k !== 'triggerid' && k !== 'eventid')
  .map(([k, v]) => `${k}=${v}`);

const alertArb = fc.record({
  emoji: emojiArb,
  emojiSpace: fc.constantFrom(' ', '', '  ', '\t'),
  status: statusArb,
  severity: severitySpellingArb,
  host: hostArb,
  escapeAll: fc.boolean(),
  base: baseArb,
  triggerId: idArb,
  eventId: idArb,
  eventFirst: fc.boolean(),
  amp: fc.boolean(),
  extraParams: fc.array(extraParamArb, { maxLength: 3 }),
  extraAt: fc.nat(3),
  fragment: fc.option(str(ALNUM, 0, 8), { nil: undefined }),
  colon: fc.boolean(),
  trigger: triggerArb,
  item: itemArb,
  nl: fc.constantFrom('\n', '\r\n'),
  bullet: fc.constantFrom('*', '-'),
  blank: fc.array(fc.constantFrom('', ' ', '\t'), { maxLength: 2 }),
  lead: fc.constantFrom('', ' ', '\n', '\r\n\r\n  '),
  trail: fc.constantFrom('', ' ', '\n', '\r\n', '\n\n\t'),
});
type GeneratedAlert = typeof alertArb extends fc.Arbitrary<infer T> ? T : never;

/** Renders the post as Zulip's integration would (with the tolerated variations) and the fields we expect back. */
function render(g: GeneratedAlert): { content: string; expected: ZabbixAlert } {
  const idParams = g.eventFirst ? [`eventid=${g.eventId}`, `triggerid=${g.triggerId}`] : [`triggerid=${g.triggerId}`, `eventid=${g.eventId}`];
  const params = [...idParams];
  params.splice(Math.min(g.extraAt, params.length), 0, ...g.extraParams);
  const fragment = g.fragment === undefined ? '' : `#${g.fragment}`;
  const link = `${g.base}/tr_events.php?${params.join('&')}${fragment}`;
  const postedLink = g.amp ? link.replace(/&/g, '&amp;') : link;
  const emoji = g.emoji === undefined ? '' : `${g.emoji}${g.emojiSpace}`;
  const first = `${emoji}${g.status.spelling} (${g.severity.spelling}) alert on [${escapeHost(g.host, g.escapeAll)}](${postedLink})${g.colon ? ':' : ''}`;
  const blank = g.blank.map((b) => `${b}${g.nl}`).join('');
  const lines = [first, `${g.nl}${blank}${g.bullet} ${g.trigger.replace(/\\/g, '\\\\')}`];
  if (g.item !== undefined && g.item !== '') lines.push(`${g.nl}${blank}${g.bullet} ${g.item}`);
  const content = `${g.lead}${lines.join('')}${g.trail}`;

  const expected: ZabbixAlert = {
    status: g.status.status,
    severity: g.severity.severity,
    incidentClass: g.severity.cls,
    host: g.host,
    zabbixUrl: g.base,
    link,
    triggerId: g.triggerId,
    eventId: g.eventId,
    triggerName: g.trigger,
    itemText: g.item ?? '',
  };
  if (g.emoji !== undefined) expected.emoji = g.emoji;
  return { content, expected };
}

/** Random edits of a valid post: reaches the parser's deeper branches far more often than random text. */
const mutatedAlertArb = fc
  .tuple(
    alertArb.map((g) => render(g).content),
    fc.array(
      fc.tuple(fc.nat(), fc.nat(5), fc.oneof(fc.string({ unit: 'binary', maxLength: 4 }), fc.constantFrom('\\', '[', ']', '(', ')', '&amp;', '\n', '\r', ':', '=', '&', '?'))),
      { maxLength: 4 },
    ),
  )
  .map(([content, edits]) => {
    let s = content;
    for (const [pos, del, ins] of edits) {
      const at = s.length === 0 ? 0 : pos % (s.length + 1);
      s = s.slice(0, at) + ins + s.slice(at + del);
    }
    return s;
  });

const loneSurrogateUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));

const anyInputArb = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'binary', maxLength: 2000 }),
  fc.string({ unit: 'binary-ascii' }),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: loneSurrogateUnit }),
  fc.string({ unit: fc.constantFrom('PROBLEM', 'OK', ' (', 'High', ') ', 'alert on ', '[', ']', '](', ')', ':', '\\', '\n', '\r\n', '* ', '- ', 'https://z', '/tr_events.php', '?', '&', '&amp;', 'eventid=', 'triggerid=', '1', '🔥', '\u200D', ':fire:') }),
  mutatedAlertArb,
);

const VALID_STATUS = new Set(['PROBLEM', 'OK']);
const VALID_SEVERITY = new Set(SEVERITIES.map(([s]) => s));
const CLASS_OF = new Map(SEVERITIES);

describe('parseAlert — properties', () => {
  test(
    'never throws on arbitrary input and always returns a well-formed result',
    () => {
      fc.assert(
        fc.property(anyInputArb, (input) => {
          const r = parseAlert(input);
          expect(typeof r).toBe('object');
          expect(typeof r.ok).toBe('boolean');
          if (r.ok) {
            const a = r.alert;
            expect(VALID_STATUS.has(a.status)).toBe(true);
            expect(VALID_SEVERITY.has(a.severity)).toBe(true);
            expect(a.incidentClass).toBe(CLASS_OF.get(a.severity));
            expect(a.eventId).toMatch(/^[0-9]{1,20}$/);
            expect(a.triggerId).toMatch(/^[0-9]{1,20}$/);
            expect(a.host.length).toBeGreaterThan(0);
            expect(a.triggerName.length).toBeGreaterThan(0);
            expect(a.link.startsWith(`${a.zabbixUrl}/`)).toBe(true);
            expect(a.zabbixUrl).toMatch(/^https?:\/\//i);
            expect(a.triggerName).not.toMatch(/[\r\n]/);
            expect(a.itemText).not.toMatch(/[\r\n]/);
          } else {
            expect(typeof r.reason).toBe('string');
            expect(r.reason.length).toBeGreaterThan(0);
            expect(r.reason.length).toBeLessThanOrEqual(200);
          }
          // Pure: a second call gives the same answer.
          expect(parseAlert(input)).toEqual(r);
        }),
        { seed: SEED, numRuns: RUNS ?? 50_000 },
      );
    },
    TIMEOUT_MS,
  );

  test(
    'over-long input is rejected up front whatever it contains',
    () => {
      fc.assert(
        fc.property(alertArb, fc.string({ unit: 'binary', maxLength: 50 }), (g, filler) => {
          const { content } = render(g);
          const pad = (filler === '' ? ' ' : filler).repeat(Math.ceil((MAX_ALERT_POST_LENGTH + 1) / (filler.length || 1)));
          const huge = content + pad;
          const r = parseAlert(huge);
          expect(r).toEqual({ ok: false, reason: `post too long (${huge.length} chars, max ${MAX_ALERT_POST_LENGTH})` });
        }),
        { seed: SEED, numRuns: Math.min(RUNS ?? 200, 200) },
      );
    },
    TIMEOUT_MS,
  );

  test(
    'round trip: rendered alerts parse back to the same fields',
    () => {
      fc.assert(
        fc.property(alertArb, (g) => {
          const { content, expected } = render(g);
          expect(parseAlert(content)).toEqual({ ok: true, alert: expected });
        }),
        { seed: SEED, numRuns: RUNS ?? 2_000 },
      );
    },
    TIMEOUT_MS,
  );
});
