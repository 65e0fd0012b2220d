/**
 * Figure 1, reaction latency: from the fake writing a message event to the bot's long poll to
 * the bot's resulting request arriving at the fake, under a steady 20 alerts/s.
 *
 * The bot sends through its own token bucket (burst 20, rateLimit.perMinute = 150): measured
 * replies must not queue behind it. So the stream is 20 alerts/s of which only the samples cause
 * a request: every 10th alert (2/s, 0.5 s apart) is a repeat of a non-critical alert in a topic
 * whose Lynx project ID is known (→ one 🔁 reaction), and every 2.5 s a `!ongoing` is asked
 * (→ a one-part reply): 2.4 requests/s, under the bucket's refill of 2.5/s, and the stream only
 * starts once the bucket holds 10 tokens. The other 18 alerts/s are repeats of open critical and
 * informational problems, which cause no request. `limiterMinTokens` replays the bucket over the
 * sends the fake saw to show no measured send waited for it.
 * The minimal bot (bench/minimal-bot.ts) gets the same alerts and reacts to every message.
 */
import { performance } from 'node:perf_hooks';
import { BotRunner, MINIMAL_BOT, ProcessRunner, sleep } from '../lib/bot-runner';
import { paced, spec, TEMPLATES, type Template } from '../lib/load';
import { Recorder, replayBucket } from '../lib/recorder';
import { Rng } from '../../test/support/prng';
import { postAlert, startWorld, STREAMS, type AlertSpec, type World } from '../lib/world';

export interface LatencyParams {
  seed: number;
  /** Measured stream length (after a warm-up of warmupS). */
  durationS: number;
  warmupS: number;
  ratePerS: number;
  keep?: boolean;
  /** The PostgreSQL store (store.url) instead of SQLite (issue 22). */
  storeUrl?: string;
}

export interface LatencyRun {
  reaction: number[];
  ongoing: number[];
  missing: number;
  alertsPosted: number;
  /** Lowest token count the bot's bucket had left before a measured send (simulated from the sends seen). */
  minTokens: number;
  achievedRate: number;
}

const SAMPLE_HOSTS = ['web-01.example.org', 'web-02.example.org', 'web-03.example.org', 'web-04.example.org'];
const CRIT = TEMPLATES.filter((t) => t.severity === 'High' || t.severity === 'Disaster');
const INFO = TEMPLATES.filter((t) => t.severity === 'Information' || t.severity === 'Not classified');

/**
 * The stream's background: repeats of open problems (Zabbix re-notifying), which change nothing
 * the bot says. The problems are opened first (seed), and what the bot says about them then has
 * gone out before the stream starts. 3 critical hosts (fewer than the several-hosts notice needs)
 * with 6 triggers each, 4 informational hosts with 5.
 */
class Background {
  private readonly open: AlertSpec[] = [];

  constructor(private readonly rng: Rng) {
    let eventId = 600_000;
    for (let h = 0; h < 7; h++) {
      const crit = h < 3;
      const host = crit ? `app-${String(h + 1).padStart(2, '0')}.example.org` : `mon-${String(h - 2).padStart(2, '0')}.example.org`;
      const templates = crit ? CRIT : INFO;
      for (let k = 0; k < (crit ? 6 : 5); k++) {
        const t = templates[k % templates.length] as Template;
        this.open.push(spec(host, { ...t, trigger: `${t.trigger} (${k})` }, eventId++, 70_000 + h * 10 + k));
      }
    }
  }

  seed(): AlertSpec[] {
    return [...this.open];
  }

  next(): AlertSpec {
    return this.rng.pick(this.open) as AlertSpec;
  }
}

interface Plan {
  actions: { at: number; run: () => void }[];
  /** Posted message ids by kind, filled in as the plan runs; `measured` false during warm-up. */
  samples: { id: number; kind: 'reaction' | 'ongoing' | 'other'; topic?: string; measured: boolean; t: number }[];
  background: Background;
}

function plan(w: World, p: LatencyParams, samples: AlertSpec[], withProbes: boolean): Plan {
  const bg = new Background(new Rng(p.seed + 1));
  const out: Plan = { actions: [], samples: [], background: bg };
  const slotMs = 1000 / p.ratePerS;
  const slots = Math.round((p.warmupS + p.durationS) * p.ratePerS);
  const warmupMs = p.warmupS * 1000;
  let probe = 0;
  for (let k = 0; k < slots; k++) {
    const at = k * slotMs;
    const measured = at >= warmupMs;
    if (k % 10 === 0) {
      const s = samples[(k / 10) % samples.length] as AlertSpec;
      out.actions.push({ at, run: () => out.samples.push({ id: postAlert(w, s), kind: 'reaction', measured, t: performance.now() }) });
    } else {
      const s = bg.next();
      out.actions.push({ at, run: () => out.samples.push({ id: postAlert(w, s), kind: 'other', measured, t: performance.now() }) });
    }
    if (withProbes && k % 50 === 25) {
      const topic = `latency probe ${++probe}`;
      out.actions.push({
        at: at + slotMs / 2,
        run: () => out.samples.push({ id: w.fake.post(w.ann.email, STREAMS.general, topic, '!ongoing').id, kind: 'ongoing', topic, measured, t: performance.now() }),
      });
    }
  }
  return out;
}

/** Alerts posted in the measured part of the stream, and the rate they were posted at. */
function rate(pl: Plan): { alertsPosted: number; achievedRate: number } {
  const measured = pl.samples.filter((s) => s.measured && s.kind !== 'ongoing');
  const first = measured[0]?.t ?? 0;
  const last = measured.at(-1)?.t ?? 0;
  return { alertsPosted: measured.length, achievedRate: measured.length > 1 ? ((measured.length - 1) * 1000) / (last - first) : Number.NaN };
}

/**
 * Opens the background problems, waits until the bot has said all it says about them (no send
 * for 1.5 s) and until its bucket has 10 tokens (replayed from the sends the fake saw).
 */
async function seedAndSettle(w: World, bot: BotRunner, rec: Recorder, bg: Background): Promise<void> {
  const ids = bg.seed().map((a) => postAlert(w, a));
  await bot.allTracked(ids, 20_000);
  await rec.quiet(1500, 60_000);
  const tokens = replayBucket(rec.sendTimes(), performance.now()).now;
  if (tokens < 10) await sleep(((10 - tokens) * 60_000) / 150);
}

function sampleSpecs(): AlertSpec[] {
  return SAMPLE_HOSTS.map((host, k) => ({
    severity: 'Warning',
    host,
    eventId: String(500_001 + k),
    triggerId: String(301 + k),
    trigger: 'Free disk space is less than 20% on /var',
    item: 'Free disk space on /var is 17 %',
  }));
}

export async function botLatencyRun(p: LatencyParams, progress: (s: string) => void): Promise<LatencyRun> {
  const w = await startWorld({ keep: p.keep, ...(p.storeUrl ? { config: { store: { url: p.storeUrl } } } : {}) });
  const rec = new Recorder(w.fake, w.bot.email);
  const bot = BotRunner.startBot(w.configPath, w.logPath);
  try {
    await bot.live();
    // Each sample topic: a non-critical alert (the bot posts its checklist), then a Lynx project ID.
    const samples = sampleSpecs();
    for (const s of samples) postAlert(w, s);
    await bot.waitFor(() => SAMPLE_HOSTS.every((h) => rec.postsInTopic(h).length > 0), 10_000, 'checklists');
    SAMPLE_HOSTS.forEach((h, k) => w.fake.post(w.ann.email, STREAMS.nonCritical, h, `Milestone exists, tracked in Lynx as SRE2611WB${'ACDE'[k]}`));
    await bot.waitFor(() => bot.lines.filter((l) => l.msg === 'Lynx project ID recorded').length >= samples.length, 10_000, 'project IDs recorded');
    const pl = plan(w, p, samples, true);
    await seedAndSettle(w, bot, rec, pl.background);
    progress(`stream: ${p.warmupS + p.durationS} s at ${p.ratePerS} alerts/s`);
    await paced(pl.actions);
    await sleep(1500);
    bot.poll();
    const reaction: number[] = [];
    const ongoing: number[] = [];
    let missing = 0;
    for (const s of pl.samples) {
      if (!s.measured || s.kind === 'other') continue;
      let ms: number | undefined;
      if (s.kind === 'reaction') ms = rec.reactionLatency(s.id);
      else {
        const rel = rec.released.get(s.id);
        const first = rec.postsInTopic(s.topic as string)[0];
        ms = rel !== undefined && first ? first.at - rel : undefined;
      }
      if (ms === undefined) missing++;
      else (s.kind === 'reaction' ? reaction : ongoing).push(ms);
    }
    const sends = rec.sendTimes();
    return { reaction, ongoing, missing, ...rate(pl), minTokens: replayBucket(sends, performance.now()).low };
  } finally {
    await bot.stop();
    await w.close();
  }
}

export async function minimalLatencyRun(p: LatencyParams, progress: (s: string) => void): Promise<LatencyRun> {
  // Its own server with Zulip's rate limit lifted: it reacts to every message, 20/s.
  const w = await startWorld({ fake: { rateLimitPerMinute: 1_000_000 }, keep: p.keep });
  const minimal = w.fake.addUser({ email: 'minimal-bot@example.org', fullName: 'Minimal Bot', isBot: true });
  for (const s of Object.values(STREAMS)) w.fake.subscribe(minimal.email, s);
  const rec = new Recorder(w.fake, minimal.email);
  const proc = ProcessRunner.start([MINIMAL_BOT, w.fake.url, minimal.email, minimal.apiKey], w.logPath);
  try {
    await proc.waitFor(() => proc.lines.some((l) => l.msg === 'ready'), 10_000, 'minimal bot ready');
    // The same `!ongoing` probes as the bot's: it answers each with a one-line message.
    const pl = plan(w, p, sampleSpecs(), true);
    for (const a of pl.background.seed()) postAlert(w, a);
    await sleep(1000);
    progress(`stream: ${p.warmupS + p.durationS} s at ${p.ratePerS} alerts/s`);
    await paced(pl.actions);
    await sleep(1000);
    const reaction: number[] = [];
    const ongoing: number[] = [];
    let missing = 0;
    for (const s of pl.samples) {
      if (!s.measured) continue;
      let ms: number | undefined;
      if (s.kind === 'ongoing') {
        const rel = rec.released.get(s.id);
        const first = rec.postsInTopic(s.topic as string)[0];
        ms = rel !== undefined && first ? first.at - rel : undefined;
      } else ms = rec.reactionLatency(s.id);
      if (ms === undefined) missing++;
      else (s.kind === 'ongoing' ? ongoing : reaction).push(ms);
    }
    return { reaction, ongoing, missing, ...rate(pl), minTokens: Number.NaN };
  } finally {
    await proc.stop();
    await w.close();
  }
}
