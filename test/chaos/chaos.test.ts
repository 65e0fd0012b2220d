/**
 * The fault-injection ("chaos") suite: seeded random runs of the built bot against the fake
 * Zulip server while faults fire (see chaos-run.ts). Build first: `npx tsc -p tsconfig.json`.
 *
 *   npx jest test/chaos                          seeds 1..20, 500 alerts each
 *   CHAOS_SEEDS=7,12 npx jest test/chaos         replays those seeds
 *   CHAOS_ALERTS=2000 npx jest test/chaos        more alerts per seed
 *   CHAOS_HANG=all|none npx jest test/chaos      the long-poll hang in every seed / none
 *                                                (default: seeds divisible by 5; a hang costs ~17 s,
 *                                                 the bot's long-poll client timeout)
 *   CHAOS_SLOW=all|none npx jest test/chaos      one send answered past the client timeout, in every
 *                                                seed / none (default: odd seeds; it costs ~15 s)
 *   CHAOS_STORE=none npx jest test/chaos         no store window (default: every seed has one, 2-5 s in
 *                                                which the bot's store cannot write: disk full or I/O error)
 *   CHAOS_KEEP=1                                 keep each run's directory (store, bot logs)
 *   CHAOS_TOLERATE=reminder-gap,alert-count      report problems of those [kinds] without failing
 *                                                (to see what else a run finds while a known bug is open)
 *   CHAOS_VERBOSE=1                              progress lines
 */
import { rmSync } from 'node:fs';
import { chaosRun, formatReport, planChaos, problemKinds } from './chaos-run';

function seedsFromEnv(): number[] {
  const raw = (process.env.CHAOS_SEEDS ?? '').trim();
  if (raw === '') return Array.from({ length: 20 }, (_, i) => i + 1);
  const seeds = raw.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  for (const s of seeds) if (!Number.isSafeInteger(s)) throw new Error(`CHAOS_SEEDS: "${raw}" is not a comma-separated list of integers`);
  return seeds;
}

const SEEDS = seedsFromEnv();
const ALERTS = Number(process.env.CHAOS_ALERTS ?? 500);
const HANG = process.env.CHAOS_HANG ?? 'auto';
const SLOW = process.env.CHAOS_SLOW ?? 'auto';
const STORE = process.env.CHAOS_STORE ?? 'all';
const TOLERATE = new Set((process.env.CHAOS_TOLERATE ?? '').split(',').map((s) => s.trim()).filter(Boolean));
const kindOf = (problem: string) => /^\[([a-z-]+)\]/.exec(problem)?.[1] ?? 'other';
const hangFor = (seed: number) => (HANG === 'all' ? true : HANG === 'none' ? false : seed % 5 === 0);
const slowFor = (seed: number) => (SLOW === 'all' ? true : SLOW === 'none' ? false : seed % 2 === 1);

if (!Number.isSafeInteger(ALERTS) || ALERTS < 1) throw new Error(`CHAOS_ALERTS: expected a positive integer, got ${process.env.CHAOS_ALERTS}`);

test('a seed always plans the same schedule; different seeds plan different ones', () => {
  const a = JSON.stringify(planChaos(7, { alerts: ALERTS, hang: true }));
  expect(JSON.stringify(planChaos(7, { alerts: ALERTS, hang: true }))).toBe(a);
  expect(JSON.stringify(planChaos(8, { alerts: ALERTS, hang: true }))).not.toBe(a);
  const plan = planChaos(7, { alerts: ALERTS });
  expect(plan.events).toHaveLength(ALERTS);
  expect(new Set(plan.events.map((e) => e.host)).size).toBeGreaterThanOrEqual(10);
  expect(new Set(plan.events.map((e) => e.cls))).toEqual(new Set(['critical', 'non-critical', 'informational']));
  expect(plan.steps.filter((s) => s.kind === 'kill').length).toBeGreaterThanOrEqual(1);
  expect(plan.steps.filter((s) => s.kind === 'kill').length).toBe(plan.steps.filter((s) => s.kind === 'restart').length);
});

const failedSeeds: number[] = [];
const kindsSeen: string[] = [];
let totalSeconds = 0;

afterAll(() => {
  if (totalSeconds === 0) return;
  const line = failedSeeds.length === 0
    ? `chaos: ${SEEDS.length} seeds passed in ${totalSeconds.toFixed(0)} s`
    : `chaos: ${failedSeeds.length} of ${SEEDS.length} seeds failed {${problemKinds(kindsSeen)}} in ${totalSeconds.toFixed(0)} s; replay: CHAOS_SEEDS=${failedSeeds.join(',')} npx jest test/chaos`;
  process.stdout.write(`${line}\n`);
});

describe('chaos', () => {
  test.each(SEEDS)(
    'seed %i: every alert tracked once, every OK and ack applied, due reminders posted once, no crash',
    async (seed) => {
      const report = await chaosRun(seed, {
        alerts: ALERTS,
        hang: hangFor(seed),
        slow: slowFor(seed),
        storeFault: STORE !== 'none',
        keepDir: process.env.CHAOS_KEEP === '1',
        ...(process.env.CHAOS_VERBOSE === '1' ? { progress: (l: string) => process.stdout.write(`  ${l}\n`) } : {}),
      });
      process.stdout.write(`${formatReport(report)}\n`);
      totalSeconds += report.seconds;
      const tolerated = report.problems.filter((p) => TOLERATE.has(kindOf(p)));
      if (tolerated.length > 0) process.stdout.write(`  seed=${seed} tolerated (CHAOS_TOLERATE): {${problemKinds(tolerated)}}\n`);
      const failing = report.problems.filter((p) => !TOLERATE.has(kindOf(p)));
      if (failing.length === 0 && process.env.CHAOS_KEEP !== '1') rmSync(report.dir, { recursive: true, force: true });
      if (failing.length > 0) {
        failedSeeds.push(seed);
        kindsSeen.push(...failing);
        const shown = failing.slice(0, 40);
        const more = failing.length - shown.length;
        throw new Error(
          [
            `chaos seed ${seed} failed (${failing.length} problems: {${problemKinds(failing)}}):`,
            ...shown.map((p) => `  - ${p}`),
            ...(more > 0 ? [`  … and ${more} more`] : []),
            `run directory (store, bot logs, request log): ${report.dir}`,
            `replay: CHAOS_SEEDS=${seed}${ALERTS !== 500 ? ` CHAOS_ALERTS=${ALERTS}` : ''}${HANG !== 'auto' ? ` CHAOS_HANG=${HANG}` : ''}${SLOW !== 'auto' ? ` CHAOS_SLOW=${SLOW}` : ''}${STORE !== 'all' ? ` CHAOS_STORE=${STORE}` : ''}${TOLERATE.size > 0 ? ` CHAOS_TOLERATE=${[...TOLERATE].join(',')}` : ''} npx jest test/chaos`,
          ].join('\n'),
        );
      }
    },
    // A hang (~17 s), a slow send (~15 s) and a restarted bot's 20 s wait for an item the killed one was sending can add up.
    180_000,
  );
});
