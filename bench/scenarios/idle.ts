/**
 * Figure 5, idle cost: a bot with N open incidents (production SLA: nothing falls due) and
 * nothing happening; CPU time and RSS of its process over the window, from /proc. The long poll
 * stays open (the fake heartbeats every 50 s, as Zulip does).
 */
import { performance } from 'node:perf_hooks';
import { BotRunner, sleep } from '../lib/bot-runner';
import { flood, openProblems } from '../lib/load';
import { Recorder } from '../lib/recorder';
import { postAlert, startWorld } from '../lib/world';

export interface IdleParams {
  seed: number;
  incidents: number;
  windowS: number;
  /** How long ago the incidents opened (s): 600 puts them past every window; 0 measures right after. */
  openedAgoS: number;
  keep?: boolean;
}

export interface IdleRun {
  incidents: number;
  windowS: number;
  cpuSeconds: number;
  /** CPU time over wall time, in % of one core. */
  cpuPercent: number;
  rssMb: number;
  maxRssMb: number;
  /** Requests the bot made during the window (long polls included). */
  requests: number;
}

export async function idleRun(p: IdleParams, progress: (s: string) => void): Promise<IdleRun> {
  const w = await startWorld({ keep: p.keep });
  const rec = new Recorder(w.fake, w.bot.email);
  const bot = BotRunner.startBot(w.configPath, w.logPath);
  try {
    await bot.live();
    // Opened 10 minutes ago (openedAgoS 600): past the several-hosts window (5 min), and no
    // reminder or SLA warning due for the next 50 minutes (production SLA): nothing is due.
    const { posts } = openProblems(p.incidents, p.seed);
    const at = Math.floor(Date.now() / 1000) - p.openedAgoS;
    const ids = await flood(posts, (a) => postAlert(w, a, at));
    await bot.allTracked(ids, 60_000);
    await rec.quiet(2000, 120_000); // what the bot said about them has gone out
    await sleep(1000);
    progress(`${ids.length} open incidents; measuring ${p.windowS} s of nothing`);
    const before = rec.requests.length;
    const cpu0 = bot.cpuSeconds();
    const t0 = performance.now();
    let maxRssMb = 0;
    while (performance.now() - t0 < p.windowS * 1000) {
      await sleep(Math.min(1000, t0 + p.windowS * 1000 - performance.now()));
      maxRssMb = Math.max(maxRssMb, bot.memory().rssMb);
    }
    const cpuSeconds = bot.cpuSeconds() - cpu0;
    const wall = (performance.now() - t0) / 1000;
    return {
      incidents: ids.length,
      windowS: wall,
      cpuSeconds,
      cpuPercent: (cpuSeconds / wall) * 100,
      rssMb: bot.memory().rssMb,
      maxRssMb,
      requests: rec.requests.length - before,
    };
  } finally {
    await bot.stop();
    await w.close();
  }
}
