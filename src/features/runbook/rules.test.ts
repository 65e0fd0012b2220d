/** Runbook rules, the client-prompt exceptions and the runbook config: pure, time passed in. */
import { validateConfig } from '../../config/load';
import type { IncidentClass } from '../../domain/classes';
import fc from 'fast-check';
import { clientException, matchRules, needsClientPrompt, renderAdvice, weekdayOf, CLIENT_PROMPT, MATCH_CHARS, type AlertFacts } from './rules';
import { CERT_EXPIRING_SOON, HTTPS_DOWN, NO_BACKUP, SSH_DOWN } from '../../domain/runbook';
import { testConfig } from '../../../test/support/factories';

const SATURDAY = Date.parse('2026-11-21T12:00:00Z');
const SUNDAY = Date.parse('2026-11-22T12:00:00Z');
const MONDAY = Date.parse('2026-11-23T12:00:00Z');

const config = testConfig();
const rb = config.runbook;

function facts(p: Partial<AlertFacts> = {}): AlertFacts {
  return { triggerName: 'HTTPS is down on web-01.example.org', host: 'web-01.example.org', incidentClass: 'critical', at: MONDAY, timeZone: 'Europe/Amsterdam', ...p };
}
const names = (f: Partial<AlertFacts>) => matchRules(rb.rules, facts(f)).map((r) => r.name);

function errorsOf(runbook: unknown): string[] {
  const r = validateConfig({ zulip: { site: 'https://chat.example.org', email: 'b@x.org', apiKey: 'k' }, alerts: { senders: ['z@x.org'] }, runbook });
  if (r.ok) throw new Error('expected an invalid config');
  return r.errors;
}

describe('default rules (the process)', () => {
  test('the defaults are there, compiled, with the team process values', () => {
    expect(rb.rules.map((r) => r.name)).toEqual(['SSH service down', 'No backup', 'GitLab update (Sunday)']);
    expect(rb.clientPrompt.enabled).toBe(true);
    expect(rb.clientPrompt.exceptions).toHaveLength(3);
    expect(rb.recheck.wait).toBe(30_000);
    expect(rb.storm).toEqual({ hosts: 3, within: 300_000, topic: 'Several hosts down', followUpEvery: 15_000, quiet: 600_000 });
    expect(rb.rules[0]?.trigger).toBeInstanceOf(RegExp);
  });

  test.each([
    'SSH service is down on web-01.example.org',
    'SSH service is down on {HOST.NAME}',
    'ssh is not responding on db-02',
    'web-01: SSH server unreachable',
  ])('SSH down: %j', (triggerName) => expect(names({ triggerName })).toEqual(['SSH service down']));

  test.each(['No backup for 3 days', 'No backups for 2 days on files-01', 'Backup of vm-12 is too old', 'backup missing for bucket photos'])('no backup: %j', (triggerName) =>
    expect(names({ triggerName })).toEqual(['No backup']),
  );

  test.each([
    'HTTPS is down on web-01.example.org',
    'Zabbix agent is not available',
    'Free disk space is less than 20% on /var',
    'SSL certificate is expiring in < 24 hours',
    'Backup job succeeded',
    'SSHFS mount is slow',
  ])('no hint: %j', (triggerName) => expect(names({ triggerName, at: SUNDAY })).toEqual([]));

  test('HTTPS down on a git.* host on Sunday (in the team time zone) is the GitLab update', () => {
    const git = { host: 'git.example.org', triggerName: 'HTTPS is down on git.example.org' };
    expect(names({ ...git, at: SUNDAY })).toEqual(['GitLab update (Sunday)']);
    expect(names({ ...git, at: MONDAY })).toEqual([]);
    expect(names({ ...git, at: SATURDAY })).toEqual([]);
    // Saturday 23:30 UTC is Sunday 00:30 in Amsterdam.
    expect(names({ ...git, at: Date.parse('2026-11-21T23:30:00Z') })).toEqual(['GitLab update (Sunday)']);
    expect(names({ ...git, at: Date.parse('2026-11-21T23:30:00Z'), timeZone: 'UTC' })).toEqual([]);
    expect(names({ host: 'web-01.example.org', triggerName: 'HTTPS is down on web-01', at: SUNDAY })).toEqual([]);
    expect(names({ host: 'gitlab-runner.example.org', triggerName: 'HTTPS is down', at: SUNDAY })).toEqual([]);
    expect(names({ host: 'git.example.org', triggerName: 'SSH service is down on git.example.org', at: SUNDAY })).toEqual(['SSH service down']);
  });

  test('the rewritten defaults match exactly what the old ones did (red-team finding 8: same matches, linear time)', () => {
    const OLD: Record<string, string> = {
      SSH_DOWN: String.raw`\bssh\b.*\b(is down|down|not running|unreachable|unavailable|not responding)\b`,
      NO_BACKUP: String.raw`\b(no|missing)\b.*\bbackups?\b|\bbackups?\b.*\b(missing|too old|older than|not (done|made|run|completed))\b`,
      HTTPS_DOWN: String.raw`\bhttps\b.*\b(down|unreachable|unavailable|not responding)\b`,
      CERT_EXPIRING_SOON: String.raw`\bcert(ificate)?s?\b.*\bexpir(es|ing|y)\b.*(<|less than|under|within|in)\s*(24\s*h(ours?)?|1\s*day|one day)\b`,
    };
    const NEW: Record<string, string> = { SSH_DOWN, NO_BACKUP, HTTPS_DOWN, CERT_EXPIRING_SOON };
    // Names built from each pattern's parts, in or out of order, some replaced by near misses, with noise between.
    const SLOTS: Record<string, string[][]> = {
      SSH_DOWN: [['ssh', 'SSH', 'sshd', 'x'], ['is down', 'down', 'not running', 'unreachable', 'unavailable', 'not responding', 'downtime']],
      NO_BACKUP: [['no', 'missing', 'not', 'x'], ['backup', 'backups', 'backuping'], ['missing', 'too old', 'older than', 'not done', 'not made', 'not run', 'not completed', 'ok']],
      HTTPS_DOWN: [['https', 'HTTPS', 'http', 'x'], ['down', 'unreachable', 'unavailable', 'not responding', 'up']],
      CERT_EXPIRING_SOON: [['cert', 'certs', 'certificate', 'Certificates', 'cart'], ['expires', 'expiring', 'expiry', 'expired'], ['in', 'within', 'under', 'less than', '<', 'for'], ['24', '24h', '24 hours', '1 day', 'one day', '7 days', '1 week']],
    };
    const sep = fc.constantFrom(' ', '', '  ', '\t', '-', '\n', ': ');
    const noise = fc.oneof(fc.constant(''), fc.constant(''), fc.constant(''), fc.array(fc.constantFrom('x', 'web-01', 'is', 'in', 'no', 'down', 'ssh', 'cert', 'expires', '24'), { maxLength: 2 }).map((ws) => ws.join(' ')));
    const nameFor = (slots: string[][]) =>
      fc
        .tuple(fc.tuple(...slots.map((words) => fc.constantFrom(...words))), fc.array(fc.tuple(sep, noise, sep), { minLength: slots.length + 1, maxLength: slots.length + 1 }), fc.integer({ min: 0, max: 3 }).map((n) => n === 0))
        .map(([words, gaps, reversed]) => (reversed ? [...words].reverse() : words).reduce((text, w, k) => text + gaps[k]!.join('') + w, '') + gaps[slots.length]!.join(''));
    for (const key of Object.keys(OLD)) {
      const before = new RegExp(OLD[key]!, 'i');
      const after = new RegExp(NEW[key]!, 'i');
      let matched = 0;
      fc.assert(
        fc.property(nameFor(SLOTS[key]!), (text) => {
          if (before.test(text)) matched++;
          return before.test(text) === after.test(text);
        }),
        { numRuns: 5000, seed: 8 },
      );
      expect([key, matched > 150]).toEqual([key, true]); // both answers are asked for (of 5000)
    }
  });

  test(`rules see the first ${MATCH_CHARS} characters of a trigger or host name`, () => {
    const filler = 'x'.repeat(MATCH_CHARS);
    expect(names({ triggerName: `SSH service is down on web-01 ${filler}` })).toEqual(['SSH service down']);
    expect(names({ triggerName: `${filler} SSH service is down on web-01` })).toEqual([]);
    expect(clientException(rb.clientPrompt.exceptions, { triggerName: 'SSL certificate is expiring in < 24 hours', host: `h${filler}` })?.name).toMatch(/^Certificate expiring/);
  });

  test('weekdays are counted in the time zone', () => {
    expect(weekdayOf(SUNDAY, 'Europe/Amsterdam')).toBe('sun');
    expect(weekdayOf(Date.parse('2026-11-22T23:30:00Z'), 'UTC')).toBe('sun');
    expect(weekdayOf(Date.parse('2026-11-22T23:30:00Z'), 'Europe/Amsterdam')).toBe('mon');
  });
});

describe('configured rules', () => {
  const custom = testConfig({
    runbook: {
      rules: [
        { name: 'DB', trigger: 'replication lag', class: 'non-critical', hint: 'check the replica', link: 'https://wiki.example.org/db' },
        { name: 'Edge hosts', host: '^edge-\\d+', class: ['critical', 'informational'], hint: 'edge hosts flap; check the upstream' },
        { name: 'Both', trigger: 'ping', host: 'router', hint: 'the router', days: ['mon', 'tue'] },
      ],
    },
  }).runbook;
  const match = (f: Partial<AlertFacts>) => matchRules(custom.rules, facts(f)).map((r) => r.name);

  test('trigger and/or host by regular expression (case-insensitive), class, days', () => {
    expect(match({ triggerName: 'MySQL Replication LAG too high', incidentClass: 'non-critical' })).toEqual(['DB']);
    expect(match({ triggerName: 'MySQL replication lag too high', incidentClass: 'critical' })).toEqual([]);
    expect(match({ host: 'EDGE-12.example.org', incidentClass: 'informational' })).toEqual(['Edge hosts']);
    expect(match({ host: 'edge-12.example.org', incidentClass: 'non-critical' })).toEqual([]);
    expect(match({ host: 'router-1', triggerName: 'ICMP ping loss' })).toEqual(['Both']);
    expect(match({ host: 'router-1', triggerName: 'ICMP ping loss', at: SUNDAY })).toEqual([]);
    expect(match({ host: 'switch-1', triggerName: 'ICMP ping loss' })).toEqual([]);
    expect(match({ host: 'router-1', triggerName: 'CPU high' })).toEqual([]);
  });

  test('several matching rules go in one message, in config order; mentions in config text stay silent', () => {
    const rules = testConfig({ runbook: { rules: [{ name: 'A', host: 'x', hint: 'ping @**all** first' }, { name: 'B', host: 'x', hint: 'then this', link: 'https://w.example.org/b' }] } }).runbook.rules;
    const text = renderAdvice(matchRules(rules, facts({ host: 'x' })), false);
    expect(text).toBe('💡 **Runbook — A:** ping @_**all** first\n💡 **Runbook — B:** then this ([link](https://w.example.org/b))');
  });

  test('an empty list means no hints', () => {
    expect(testConfig({ runbook: { rules: [] } }).runbook.rules).toEqual([]);
  });
});

describe('client prompt and its exceptions', () => {
  test.each([
    ['SSH service is down on web-01.example.org', 'SSH service down (internal: maintenance and publishing)'],
    ['No backup for 3 days', 'No backup (clients do not notice a late backup)'],
    ['SSL certificate is expiring in < 24 hours', 'Certificate expiring in under 24 h (no disruption when handled in time)'],
    ['SSL certificate for shop.example.org expires in less than 24 hours', 'Certificate expiring in under 24 h (no disruption when handled in time)'],
    ['Certificate expires within 1 day', 'Certificate expiring in under 24 h (no disruption when handled in time)'],
  ])('%j needs no client message', (triggerName, exception) => {
    expect(clientException(rb.clientPrompt.exceptions, { triggerName, host: 'h' })?.name).toBe(exception);
    expect(needsClientPrompt(rb.clientPrompt, { triggerName, host: 'h', incidentClass: 'critical' })).toBe(false);
  });

  test.each(['HTTPS is down on shop.example.org', 'SSL certificate has expired', 'SSL certificate is expiring in < 7 days', 'Host is unreachable', 'Website returns 502'])(
    '%j gets the client prompt when critical',
    (triggerName) => {
      expect(clientException(rb.clientPrompt.exceptions, { triggerName, host: 'h' })).toBeUndefined();
      expect(needsClientPrompt(rb.clientPrompt, { triggerName, host: 'h', incidentClass: 'critical' })).toBe(true);
    },
  );

  test.each<IncidentClass>(['non-critical', 'informational'])('never for %s incidents', (incidentClass) =>
    expect(needsClientPrompt(rb.clientPrompt, { triggerName: 'HTTPS is down', host: 'h', incidentClass })).toBe(false),
  );

  test('configurable: off, or other exceptions', () => {
    const off = testConfig({ runbook: { clientPrompt: { enabled: false } } }).runbook.clientPrompt;
    expect(needsClientPrompt(off, { triggerName: 'HTTPS is down', host: 'h', incidentClass: 'critical' })).toBe(false);
    const own = testConfig({ runbook: { clientPrompt: { exceptions: [{ name: 'lab', host: '\\.lab\\.' }] } } }).runbook.clientPrompt;
    expect(needsClientPrompt(own, { triggerName: 'HTTPS is down', host: 'x.lab.example.org', incidentClass: 'critical' })).toBe(false);
    expect(needsClientPrompt(own, { triggerName: 'SSH service is down', host: 'web-01', incidentClass: 'critical' })).toBe(true);
  });

  test('hint and prompt together are one message; neither is nothing', () => {
    const hint = rb.rules.filter((r) => r.name === 'No backup');
    const both = renderAdvice(hint, true)!;
    expect(both.startsWith('💡 **Runbook — No backup:** the S3 backups are slow')).toBe(true);
    expect(both.endsWith(CLIENT_PROMPT)).toBe(true);
    expect(renderAdvice([], true)).toBe(CLIENT_PROMPT);
    expect(renderAdvice([], false)).toBeUndefined();
  });
});

describe('validation at start-up', () => {
  test('a bad regular expression names the rule and its key path', () => {
    const rules = [
      { name: 'ok 1', trigger: 'a', hint: 'h' },
      { name: 'ok 2', host: 'b', hint: 'h' },
      { name: 'broken', trigger: 'SSH (down', hint: 'h' },
    ];
    expect(errorsOf({ rules })).toEqual(['runbook.rules.2.trigger: invalid regular expression: /SSH (down/i: Unterminated group (rule "broken")']);
    expect(errorsOf({ rules: [{ name: 'h', host: '[', hint: 'h' }] })).toEqual(['runbook.rules.0.host: invalid regular expression: /[/i: Unterminated character class (rule "h")']);
    expect(errorsOf({ clientPrompt: { exceptions: [{ name: 'x', trigger: '*' }] } })).toEqual(['runbook.clientPrompt.exceptions.0.trigger: invalid regular expression: /*/i: Nothing to repeat (rule "x")']);
  });

  test('a pattern that can backtrack catastrophically is a config error naming the rule (red-team finding 8)', () => {
    const rules = [
      { name: 'ok', trigger: 'disk.*full', hint: 'h' },
      { name: 'greedy', trigger: '(\\w+\\s?)+$', hint: 'h' },
    ];
    expect(errorsOf({ rules })).toEqual([
      'runbook.rules.1.trigger: regular expression /(\\w+\\s?)+$/i can take exponential or runaway time on a long name: nested repetition: `(\\w+\\s?)+` repeats a part that itself repeats over the same characters, like `(a+)+`; rewrite it (rule "greedy")',
    ]);
    expect(errorsOf({ clientPrompt: { exceptions: [{ name: 'certs', trigger: 'cert.*expir.*in.*\\s*24' }] } })).toEqual([
      expect.stringMatching(/^runbook\.clientPrompt\.exceptions\.0\.trigger: regular expression .* three unbounded repetitions in a row .*\(rule "certs"\)$/),
    ]);
    expect(errorsOf({ rules: [{ name: 'hosts', host: '^(a|a)*$', hint: 'h' }] })[0]).toMatch(/^runbook\.rules\.0\.host: .*overlapping alternatives.*\(rule "hosts"\)$/);
  });

  test('other mistakes name their key', () => {
    expect(errorsOf({ rules: [{ name: 'n', hint: 'h' }] })).toEqual(['runbook.rules.0.trigger: give trigger and/or host (rule "n")']);
    expect(errorsOf({ rules: [{ name: 'n', host: 'x', hint: '' }] })).toEqual(['runbook.rules.0.hint: expected the hint text, got an empty string']);
    expect(errorsOf({ rules: [{ name: 'n', host: 'x', hint: 'h', days: ['sunday'] }] })[0]).toMatch(/^runbook\.rules\.0\.days\.0: expected a weekday: mon, tue/);
    expect(errorsOf({ rules: [{ name: 'n', host: 'x', hint: 'h', link: 'wiki/page' }] })).toEqual(['runbook.rules.0.link: expected an http(s) URL']);
    expect(errorsOf({ rules: [{ name: 'n', host: 'x', hint: 'h', colour: 'red' }] })).toEqual(['runbook.rules.0.colour: unknown key']);
    expect(errorsOf({ rules: [{ name: 'n', host: 'x', hint: 'h' }, { name: 'n', host: 'y', hint: 'h' }] })).toEqual(['runbook.rules.1.name: duplicate rule name "n"']);
    expect(errorsOf({ recheck: { wait: '30 s' } })).toEqual(['runbook.recheck.wait: expected a duration like "30s" (got "30 s")']);
    expect(errorsOf({ storm: { hosts: 0 } })[0]).toMatch(/^runbook\.storm\.hosts: /);
    expect(errorsOf({ storm: { within: 'soon' } })[0]).toMatch(/^runbook\.storm\.within: expected a duration/);
  });
});
