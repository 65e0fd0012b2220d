import { Writable } from 'node:stream';
import { createLogger, soonAfter } from './log';

test('API keys, tokens and passwords never reach the logs', () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const log = createLogger('info', sink as unknown as Parameters<typeof createLogger>[1]);
  log.info({ config: { zulip: { site: 'https://c.org', apiKey: 'zulip-secret-1' }, zabbix: { token: 'zabbix-secret-2' } } }, 'starting');
  log.info({ apiKey: 'zulip-secret-3', token: 'zabbix-secret-4', password: 'pw-5', headers: { authorization: 'Basic c2VjcmV0' } }, 'request');
  log.warn({ err: { request: { token: 'zabbix-secret-6' } } }, 'failed');
  const out = lines.join('');
  for (const secret of ['zulip-secret-1', 'zabbix-secret-2', 'zulip-secret-3', 'zabbix-secret-4', 'pw-5', 'c2VjcmV0', 'zabbix-secret-6']) expect(out).not.toContain(secret);
  expect(out).toContain('[redacted]');
  expect(out).toContain('https://c.org');
});

describe('lines written soon after, not during (soonAfter)', () => {
  function sink() {
    const writes: string[] = [];
    let syncFlushes = 0;
    return { writes, dest: { write: (s: string) => void writes.push(s), flushSync: () => void syncFlushes++ }, flushes: () => syncFlushes };
  }

  test('lines logged together are written once, in order, after the delay', async () => {
    const { writes, dest } = sink();
    const log = createLogger('info', soonAfter(dest, 15));
    log.info('one');
    log.warn({ n: 2 }, 'two');
    log.info('three');
    expect(writes).toEqual([]); // nothing written while the reply is being handled
    await new Promise((r) => setTimeout(r, 40));
    expect(writes).toHaveLength(1);
    expect((writes[0] as string).trim().split('\n').map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['one', 'two', 'three']);
    log.info('four');
    await new Promise((r) => setTimeout(r, 40));
    expect(writes).toHaveLength(2);
  });

  test('a burst past the buffer is written at once; flushSync writes what has gathered', () => {
    const { writes, dest, flushes } = sink();
    const out = soonAfter(dest, 60_000);
    for (let i = 0; i < 200; i++) out.write(`${JSON.stringify({ i, pad: 'x'.repeat(100) })}\n`);
    expect(writes.length).toBeGreaterThan(0);
    const before = writes.join('').split('\n').filter(Boolean).length;
    expect(before).toBeLessThan(200);
    out.flushSync();
    expect(flushes()).toBe(1);
    expect(writes.join('').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { i: number }).i)).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });
});

test('deferred lines are made after the work that logged them, in order, with the time of each call', async () => {
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) });
  const log = createLogger('info', sink as unknown as Parameters<typeof createLogger>[1], false, true);
  const child = log.child({ module: 'incidents' });
  const before = Date.now();
  log.info({ n: 1 }, 'first');
  child.warn({ n: 2, apiKey: 'secret-9' }, 'second');
  log.debug('not at this level');
  const spin = Date.now() + 30;
  while (Date.now() < spin) {
    /* the work goes on: nothing is made meanwhile */
  }
  expect(lines).toEqual([]);
  log.info({ n: 3 }, 'third');
  await new Promise((r) => setImmediate(r));
  const got = lines.map((l) => JSON.parse(l) as { n: number; msg: string; time: number; module?: string; apiKey?: string });
  expect(got.map((l) => l.msg)).toEqual(['first', 'second', 'third']);
  expect(got[1]).toMatchObject({ module: 'incidents', apiKey: '[redacted]' });
  expect(got[0]?.time).toBeLessThan(before + 25); // stamped when logged, not when made
  expect(got[2]?.time).toBeGreaterThanOrEqual(spin);
});
