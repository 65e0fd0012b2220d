/**
 * The failover chaos test (issue 22): seeded runs of two or three instances of the built bot on
 * one PostgreSQL, the leader SIGKILLed at random moments, and in another run cut from the
 * database while it runs on (failover-run.ts). Needs TEST_DATABASE_URL (scripts/postgres-up.sh;
 * `npm run test:e2e` starts one) and a build (`npx tsc -p tsconfig.json`).
 *
 *   FAILOVER_SEEDS=3,7        replays those seeds (default 1..10)
 *   FAILOVER_MODES=cut        only those runs (kill, cut; default both)
 *   FAILOVER_ALERTS=200       PROBLEM events per seed (default 60)
 *   FAILOVER_VERBOSE=1        progress lines
 * Prints each seed's takeover times and, at the end, p50 and max over all seeds, per kind.
 */
import { failoverRun, type FailoverReport } from './failover-run';

const raw = (process.env.FAILOVER_SEEDS ?? '').trim();
const SEEDS = raw === '' ? Array.from({ length: 10 }, (_, i) => i + 1) : raw.split(',').map((s) => Number(s.trim()));
const ALERTS = Number(process.env.FAILOVER_ALERTS ?? 60);
const MODES = (process.env.FAILOVER_MODES ?? 'kill,cut').split(',').map((m) => m.trim());
const reports: FailoverReport[] = [];

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : (s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] as number);
};

afterAll(() => {
  for (const mode of ['kill', 'cut'] as const) {
    const runs = reports.filter((r) => r.mode === mode);
    const all = runs.flatMap((r) => r.takeovers);
    if (all.length === 0) continue;
    const lease = all.map((t) => t.leaseMs);
    const live = all.map((t) => t.liveMs);
    const what = mode === 'kill' ? 'leader kills: takeover (SIGKILL' : 'leader cuts: takeover (first pg_terminate_backend';
    process.stdout.write(
      `failover: ${runs.length} seeds, ${all.length} ${what} → new leader holds the lease) p50 ${quantile(lease, 0.5)} ms, max ${Math.max(...lease)} ms; ` +
        `to polling live p50 ${quantile(live, 0.5)} ms, max ${Math.max(...live)} ms` +
        (mode === 'cut' ? `; refused writes logged ${runs.reduce((a, r) => a + r.refusedWrites, 0)} (in ${runs.filter((r) => r.refusedWrites > 0).length} seeds); cut leaders ended: ${runs.flatMap((r) => r.cuts.map((c) => c.ended.replace(/ \(.*/, ''))).join(', ')}` : '') +
        '\n',
    );
  }
});

const describeKill = MODES.includes('kill') ? describe : describe.skip;
const describeCut = MODES.includes('cut') ? describe : describe.skip;

describeKill('failover', () => {
  test.each(SEEDS)(
    'seed %i: leader SIGKILLed at random moments: every alert tracked once, every command answered once, no duplicate post',
    async (seed) => {
      const report = await failoverRun(seed, {
        instances: seed % 2 === 0 ? 2 : 3,
        alerts: ALERTS,
        kills: 2,
        ...(process.env.FAILOVER_VERBOSE === '1' ? { progress: (l: string) => process.stdout.write(`  ${l}\n`) } : {}),
      });
      reports.push(report);
      process.stdout.write(
        `failover seed ${seed}: ${report.alerts} alerts, ${report.acks} acks, ${report.botMessages} bot messages, ${report.auditedWrites} row writes audited, takeovers ${report.takeovers.map((t) => `${t.leaseMs}/${t.liveMs} ms`).join(', ')} (lease/live), ${report.seconds.toFixed(1)} s` +
          `${report.problems.length ? `\n  ${report.problems.join('\n  ')}` : ''}\n`,
      );
      expect(report.problems).toEqual([]);
      expect(report.takeovers.length).toBeGreaterThan(0);
    },
    180_000,
  );
});

describeCut('failover, the leader cut from the database', () => {
  const cutReports: FailoverReport[] = [];
  test.each(SEEDS)(
    'seed %i: leader cut from PostgreSQL at random moments (its backends terminated for 0.2–3 s, the process runs on): every alert tracked once, every command answered once, no duplicate post, no write of a deposed leader',
    async (seed) => {
      const report = await failoverRun(seed, {
        mode: 'cut',
        instances: seed % 2 === 0 ? 2 : 3,
        alerts: ALERTS,
        kills: 2,
        ...(process.env.FAILOVER_VERBOSE === '1' ? { progress: (l: string) => process.stdout.write(`  ${l}\n`) } : {}),
      });
      reports.push(report);
      cutReports.push(report);
      process.stdout.write(
        `failover (cut) seed ${seed}: ${report.alerts} alerts, ${report.acks} acks, ${report.botMessages} bot messages, ${report.auditedWrites} row writes audited, takeovers ${report.takeovers.map((t) => `${t.leaseMs}/${t.liveMs} ms`).join(', ')} (lease/live); ` +
          `cuts ${report.cuts.map((c) => `#${c.instance} for ${c.cutForMs} ms${c.leaseFirstMs ? ` (its lease session ${c.leaseFirstMs} ms first)` : ''} (${c.terminated} backends terminated): ${c.ended}${c.afterMs !== undefined ? `, stopped +${c.afterMs} ms` : ''}`).join('; ')}; refused writes ${report.refusedWrites}, ${report.seconds.toFixed(1)} s` +
          `${report.problems.length ? `\n  ${report.problems.join('\n  ')}` : ''}\n`,
      );
      expect(report.problems).toEqual([]);
      expect(report.takeovers.length).toBeGreaterThan(0);
    },
    180_000,
  );
  // Half the cuts take the lease session first: the deposed leader then writes before its renewal
  // fails, and that write must be refused (logged `… may no longer write`). Over 10 seeds (20 cuts)
  // some are; fewer seeds may by chance see the renewal fail first every time, so they only print.
  (SEEDS.length >= 10 ? test : test.skip)('the fencing token refused a deposed leader\'s late write in at least one seed', () => {
    expect(cutReports.reduce((a, r) => a + r.refusedWrites, 0)).toBeGreaterThan(0);
  });
});

