import { ManualClock } from './clock';
import { RateLimiter } from './rate-limiter';
import { neutralizeMentions, outside, splitMessage, topicLink } from './text';
import { backoffDelay } from './async';

describe('text helpers', () => {
  test('mentions from user text become silent', () => {
    expect(neutralizeMentions('hi @**all** and @**everyone**, @*sre-team*, @_**Ann**')).toBe('hi @_**all** and @_**everyone**, @_*sre-team*, @_**Ann**');
  });
  test('topic links', () => expect(topicLink('SRE # Critical', 'web-01')).toBe('#**SRE # Critical>web-01**'));
  test('short text is one message', () => expect(splitMessage('abc')).toEqual(['abc']));
  test('long text splits at lines, under the limit, nothing lost', () => {
    const lines = Array.from({ length: 300 }, (_, i) => `line ${i} ${'x'.repeat(50)}`);
    const parts = splitMessage(lines.join('\n'), 2000);
    expect(parts.length).toBeGreaterThan(5);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(2000);
    expect(parts.join('\n')).toBe(lines.join('\n'));
  });
  test('a table keeps its header in every part', () => {
    const text = ['intro', '| A | B |', '|---|---|', ...Array.from({ length: 100 }, (_, i) => `| ${i} | ${'y'.repeat(40)} |`)].join('\n');
    const parts = splitMessage(text, 1000);
    for (const p of parts.slice(1)) expect(p.startsWith('| A | B |\n|---|---|\n')).toBe(true);
  });
  test('one enormous line is cut, never over the limit', () => {
    const parts = splitMessage('z'.repeat(50_000), 10_000);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(10_000);
  });
});

describe('rate limiter', () => {
  test('allows a burst, then spaces requests to the rate', () => {
    const clock = new ManualClock(0);
    const rl = new RateLimiter(clock, 60, 2);
    expect(rl.delayFor()).toBe(0);
    rl.take();
    rl.take();
    expect(rl.delayFor()).toBe(1000);
    clock.advance(1000);
    expect(rl.delayFor()).toBe(0);
  });
  test('a 429 pauses everything until retry-after', () => {
    const clock = new ManualClock(0);
    const rl = new RateLimiter(clock, 600);
    rl.pause(5000);
    expect(rl.delayFor()).toBe(5000);
    clock.advance(5000);
    expect(rl.delayFor()).toBe(0);
  });
  test('backoff grows with attempts and stays within bounds', () => {
    expect(backoffDelay(0, () => 1, 500, 30_000)).toBe(500);
    expect(backoffDelay(3, () => 1, 500, 30_000)).toBe(4000);
    expect(backoffDelay(30, () => 1, 500, 30_000)).toBe(30_000);
    expect(backoffDelay(30, () => 0, 500, 30_000)).toBe(500);
  });
});

describe('outside(): names from outside the bot (red-team findings 9 and 10)', () => {
  test.each([
    ['@**all**'],
    ['@**everyone**'],
    ['@**stream**'],
    ['@**topic**'],
    ['@**channel**'],
    ['@**Ann Smith|12**'],
    ['@*sre-team*'],
    ['x@**all**y'],
    ['@\u0000**all**'],
    ['@\u202E**all**'],
    ['@\u0085*sre-team*'],
  ])('%j never notifies', (text) => {
    const out = outside(text);
    expect(out).not.toMatch(/@\*/);
    expect(out).toMatch(/@_\*/);
  });

  test('already silent mentions stay as they are', () => expect(outside('@_**Ann Smith** and @_*sre*')).toBe('@_**Ann Smith** and @_*sre*'));

  test('a trailing @ cannot join the bot\'s own ** into a mention', () => {
    const name = outside('db @');
    expect(`**${name}** … **all**`).not.toMatch(/@\*\*/);
  });

  test('control characters and bidi overrides are dropped; tabs and line breaks become spaces', () => {
    expect(outside('a\u0000b\u0007c\u001Bd\u007Fe\u0085f\u009Bg')).toBe('abcdefg');
    expect(outside('\u202Eevil\u202C \u2066x\u2069 \u202Ay\u202D')).toBe('evil x y');
    expect(outside('one\r\ntwo\n\n three\tfour\u2028five')).toBe('one two three four five');
    expect(outside('one\r\ntwo\u0000', { newlines: true })).toBe('one\ntwo');
  });

  test('long text is cut at max, ending in …, never inside a surrogate pair', () => {
    expect(outside('x'.repeat(10_000))).toHaveLength(300);
    expect(outside('abcdef', { max: 4 })).toBe('abc…');
    expect(outside('ab😀cd', { max: 4 })).toBe('ab…');
  });

  test('table cells: pipes and backslashes escaped, one line', () => {
    expect(outside('a | b\\|c\n@**all**', { table: true })).toBe('a \\| b\\\\\\|c @_**all**');
  });

  test('literal: shown as typed, no mention can form', () => {
    const out = outside('db @**all** [x] `y` _z_ \\', { literal: true });
    expect(out).toBe('db @\\*\\*all\\*\\* \\[x\\] \\`y\\` \\_z\\_ \\\\');
    expect(out).not.toContain('@**');
  });

  test('neutralizeMentions (kept for old callers) keeps lines and length', () => {
    expect(neutralizeMentions(`a\n@**all**${'x'.repeat(500)}`)).toBe(`a\n@_**all**${'x'.repeat(500)}`);
  });

  test('long runs of spaces and @ (the shapes a backtracking regex would choke on) come out right', () => {
    expect(outside(`${' '.repeat(5_000)}x${'@'.repeat(5_000)}`, { max: 20_000 })).toMatch(/^x@+\u200B$/);
  });
});

describe('topicLink(): still a working link, never a mention', () => {
  test('plain topics keep Zulip\'s #**stream>topic** syntax', () => {
    expect(topicLink('SRE # Critical', 'web-01.example.org')).toBe('#**SRE # Critical>web-01.example.org**');
    expect(topicLink('SRE # Critical', '✔ web-01')).toBe('#**SRE # Critical>✔ web-01**');
    expect(topicLink('SRE # Critical', 'a > b @ c')).toBe('#**SRE # Critical>a > b @ c**'); // Zulip splits at the first >
    expect(topicLink('SRE # Critical', 'billing: $5 charged twice')).toBe('#**SRE # Critical>billing: $5 charged twice**');
    expect(topicLink('SRE # Critical', 'tex $$x$$')).toMatch(/^\[#SRE # Critical > tex \$\$x\$\$\]\(#narrow\//);
  });

  test.each([
    ['db @**all** outage', 'db.20.40.2A.2Aall.2A.2A.20outage', 'db @\\*\\*all\\*\\* outage'],
    ['@*sre-team* x', '.40.2Asre-team.2A.20x', '@\\*sre-team\\* x'],
    ['db @', 'db.20.40', 'db @'],
    ['web (old) @123', 'web.20.28old.29.20.40123', 'web (old) @123'],
    ['tick`s', 'tick.60s', 'tick\\`s'],
  ])('%j: a Markdown link to the narrow URL, labelled as typed', (topic, encoded, label) => {
    const link = topicLink('SRE # Critical', topic);
    expect(link).toBe(`[#SRE # Critical > ${label}](#narrow/stream/SRE.20.23.20Critical/topic/${encoded})`);
    expect(link).not.toMatch(/@\*|@_\*/);
    // Zulip decodes the hash part as `decodeURIComponent(part.replace(/\./g, '%'))`.
    expect(decodeURIComponent(/\/topic\/([^)]*)\)$/.exec(link)![1]!.replace(/\./g, '%'))).toBe(topic);
  });

  test('control characters in a topic: the plain link would not name it, so the URL does', () => {
    const link = topicLink('SRE # Critical', 'web\u0000-01\u202E');
    expect(link).toBe('[#SRE # Critical > web-01](#narrow/stream/SRE.20.23.20Critical/topic/web.00-01.E2.80.AE)');
  });

  test('in a table, a | in the topic keeps the row\'s columns', () => {
    expect(topicLink('SRE # Critical', 'a|b')).toBe('#**SRE # Critical>a|b**');
    const cell = topicLink('SRE # Critical', 'a|b', { table: true });
    expect(cell).toBe('[#SRE # Critical > a\\|b](#narrow/stream/SRE.20.23.20Critical/topic/a.7Cb)');
    expect(cell.replace(/\\\|/g, '')).not.toContain('|');
  });
});
