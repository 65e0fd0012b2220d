/**
 * The bot's log lines gather for a few milliseconds before they are written (src/core/log.ts,
 * soonAfter): a process that exits meanwhile — a fatal error, a stop — still writes them all.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../support/bot-process';

const LOG = join(ROOT, 'dist/src/core/log.js');

test.each([
  ['process.exit', 'process.exit(3)', 3],
  ['an uncaught error', "setImmediate(() => { throw new Error('boom'); })", 1],
  ['the end of the work', '', 0],
])('lines logged just before %s are all written', (_what, end, code) => {
  const script = `const { createLogger } = require(${JSON.stringify(LOG)});
const log = createLogger('info');
for (let i = 0; i < 50; i++) log.info({ i }, 'line ' + i);
${end}`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  expect(r.status).toBe(code);
  const lines = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { i: number; msg: string });
  expect(lines.map((l) => l.i)).toEqual(Array.from({ length: 50 }, (_, i) => i));
});
