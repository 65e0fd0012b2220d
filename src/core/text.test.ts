import { ManualClock } from './clock';
import { RateLimiter } from './rate-limiter';
import { neutralizeMentions, splitMessage, topicLink } from './text';
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
