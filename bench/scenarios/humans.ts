/**
 * Figure 6, humans first in a storm (issue 17): the 10k-alert storm of figure 2 with production
 * settings (SLAs at their defaults: no reminder falls due in the minutes measured), while people
 * ask the bot things. Measured:
 * - reply delivered: from the person's message being posted into the fake to the bot's reply
 *   (its first part) arriving at the fake, for commands posted every 400 ms from the storm's
 *   start until a second after the bot handled the last alert (`!fr`, one short message; every
 *   10th a `!ongoing`, three parts with thousands open) — each in its own topic of SRE - General.
 *   The probes stay inside the bot's rate limit (burst 20 + 150/min) with what else it sends
 *   (more would measure the rate limit, which holds every reply back alike);
 * - the bot's outbox depth when it handled the storm's last alert (its SQLite file, read then);
 * - bot messages posted in the 10 minutes after the storm began, replies left out: what the fake
 *   received in the observed window (`observeS` after the last alert) plus what is still queued
 *   then (new messages, and summaries not yet posted) as far as the rate limit lets them out in
 *   the 10 minutes (20 + 150/min requests in all, less those made so far). With production SLAs
 *   nothing else falls due in those 10 minutes (reminders: 1 h; the summary's fresh copy after
 *   Zulip's 10-minute edit limit comes after them). Edits of the summary are counted apart;
 * - the bot's peak RSS (VmHWM) over it.
 * The bare zulip-js bot (bench/minimal-bot.ts, `reply` mode: it answers every command with one
 * line and nothing else) gets the same storm and probes on its own fake (Zulip's rate limit lifted).
 */
import Database from 'better-sqlite3';
import { performance } from 'node:perf_hooks';
import { BotRunner, MINIMAL_BOT, ProcessRunner, sleep } from '../lib/bot-runner';
import { flood, stormPosts } from '../lib/load';
import { Recorder } from '../lib/recorder';
import { postAlert, startWorld, STREAMS, type World } from '../lib/world';

export interface HumansParams {
  seed: number;
  alerts: number;
  hosts: number;
  /** Seconds watched after the last alert was handled (the 10-minute count's observed part). */
  observeS: number;
  keep?: boolean;
}

export interface HumansRun {
  /** Person's message posted → the bot's reply at the fake, ms, one per probe. */
  replyMs: number[];
  /** Probes that got no reply within 20 s. */
  missing: number;
  /** Storm start → last alert handled, ms. */
  processMs: number;
  /** Outbox rows when the last alert was handled (NaN for the minimal bot). */
  outboxAtLastAlert: number;
  /** New messages (replies left out) the fake received in the observed window, still queued at its end, and their sum. */
  posted: number;
  queued: number;
  tenMinutes: number;
  /** Edits of the bot's messages (the storm summary) in the observed window. */
  edits: number;
  peakRssMb: number;
}

/** 2.5 commands a second, one in ten a `!ongoing` (three parts): ≈ 3 sends a second, within the burst of 20 and 150/min for the storm's few seconds. */
const PROBE_EVERY_MS = 400;

interface Probe {
  topic: string;
  postedAt: number;
}

/** Posts the probes (one topic each) until `until()` says stop; returns them. */
async function probe(w: World, until: () => boolean): Promise<Probe[]> {
  const probes: Probe[] = [];
  const start = performance.now();
  for (let k = 1; !until(); k++) {
    const topic = `probe ${k}`;
    const postedAt = performance.now();
    w.fake.post(w.ann.email, STREAMS.general, topic, k % 10 === 0 ? '!ongoing' : '!fr');
    probes.push({ topic, postedAt });
    const wait = start + k * PROBE_EVERY_MS - performance.now();
    if (wait > 0) await sleep(wait);
  }
  return probes;
}

function replies(rec: Recorder, probes: readonly Probe[]): { replyMs: number[]; missing: number } {
  const replyMs: number[] = [];
  let missing = 0;
  for (const p of probes) {
    const first = rec.postsInTopic(p.topic)[0];
    if (first) replyMs.push(first.at - p.postedAt);
    else missing++;
  }
  return { replyMs, missing };
}

export async function humansRun(p: HumansParams, progress: (s: string) => void): Promise<HumansRun> {
  const w = await startWorld({ keep: p.keep });
  const rec = new Recorder(w.fake, w.bot.email);
  const bot = BotRunner.startBot(w.configPath, w.logPath);
  let db: Database.Database | undefined;
  try {
    await bot.live();
    await sleep(500);
    db = new Database(w.dbPath, { readonly: true, fileMustExist: true });
    const depth = db.prepare('SELECT COUNT(*) AS n FROM outbox');
    const posts = stormPosts(p.alerts, p.hosts, p.seed);
    progress(`posting ${posts.length} alerts over ${p.hosts} hosts while people ask every ${PROBE_EVERY_MS} ms`);
    const t0 = Date.now();
    let ids: number[] = [];
    let lastHandledAt: number | undefined;
    let outboxAtLastAlert = Number.NaN;
    const probing = probe(w, () => lastHandledAt !== undefined && Date.now() - lastHandledAt > 1_000);
    ids = await flood(posts, (a) => postAlert(w, a));
    // The moment the bot logs the last alert, read its outbox.
    await bot.allTracked(ids, 120_000, 5);
    outboxAtLastAlert = (depth.get() as { n: number }).n;
    lastHandledAt = Date.now();
    const processMs = Math.max(...ids.map((id) => bot.tracked.get(id) as number)) - t0;
    const probes = await probing;
    progress(`storm handled in ${processMs} ms (outbox ${outboxAtLastAlert}); watching ${p.observeS} s`);
    await sleep(p.observeS * 1000);
    const probeTopics = new Set(probes.map((x) => x.topic));
    const newPosts = rec.requests.filter((r) => r.method === 'POST' && r.path === '/api/v1/messages' && r.epoch >= t0 && !(r.to === STREAMS.general && probeTopics.has(r.topic ?? '')));
    const edits = rec.requests.filter((r) => r.method === 'PATCH' && r.path.startsWith('/api/v1/messages/') && r.epoch >= t0).length;
    const rows = db.prepare('SELECT item FROM outbox').all() as { item: string }[];
    const cards = db.prepare('SELECT key FROM cards WHERE message_id > 0').all() as { key: string }[];
    const posted = new Set(cards.map((c) => c.key));
    let queued = 0;
    for (const r of rows) {
      const item = JSON.parse(r.item) as { kind: string; key?: string; topic?: string; stream?: string };
      if (item.kind === 'reaction') continue;
      if (item.kind === 'card' && posted.has(item.key ?? '')) continue; // an edit, not a new message
      if (item.stream === STREAMS.general && probeTopics.has(item.topic ?? '')) continue;
      queued++;
    }
    const peakRssMb = bot.memory().peakRssMb;
    // What is queued goes out within the 10 minutes as far as the rate limit lets it: 20 + 150/min
    // requests in all, less those made so far (replies, reactions and edits included).
    const allowed = Math.max(0, 20 + 150 * 10 - rec.limitedRequests().filter((r) => r.epoch >= t0).length);
    return { ...replies(rec, probes), processMs, outboxAtLastAlert, posted: newPosts.length, queued, tenMinutes: newPosts.length + Math.min(queued, allowed), edits, peakRssMb };
  } finally {
    db?.close();
    await bot.stop();
    await w.close();
  }
}

/** The same storm and probes against the bare zulip-js bot. */
export async function minimalHumansRun(p: HumansParams, progress: (s: string) => void): Promise<HumansRun> {
  const w = await startWorld({ fake: { rateLimitPerMinute: 1_000_000 }, keep: p.keep });
  const minimal = w.fake.addUser({ email: 'minimal-bot@example.org', fullName: 'Minimal Bot', isBot: true });
  for (const s of Object.values(STREAMS)) w.fake.subscribe(minimal.email, s);
  const rec = new Recorder(w.fake, minimal.email);
  const proc = ProcessRunner.start([MINIMAL_BOT, w.fake.url, minimal.email, minimal.apiKey, 'reply'], w.logPath);
  try {
    await proc.waitFor(() => proc.lines.some((l) => l.msg === 'ready'), 10_000, 'minimal bot ready');
    const posts = stormPosts(p.alerts, p.hosts, p.seed);
    progress(`minimal zulip-js bot: ${posts.length} alerts while people ask`);
    const t0 = Date.now();
    let released: number | undefined;
    let ids: number[] = [];
    const probing = probe(w, () => released !== undefined && Date.now() - released > 1_000);
    ids = await flood(posts, (a) => postAlert(w, a));
    // It handles a message when its long poll returns it: the last alert released means handled (it does nothing with alerts).
    while (!rec.released.has(ids.at(-1) as number)) await sleep(5);
    released = Date.now();
    const probes = await probing;
    await sleep(1_000);
    return { ...replies(rec, probes), processMs: released - t0, outboxAtLastAlert: Number.NaN, posted: 0, queued: 0, tenMinutes: Number.NaN, edits: 0, peakRssMb: proc.memory().peakRssMb };
  } finally {
    await proc.stop();
    await w.close();
  }
}
