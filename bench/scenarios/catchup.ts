/**
 * Figures 3 and 4 on one bot: N alert posts (N distinct open problems over H hosts) arrive while
 * the bot is down; it is started and we time start → every post tracked and polling live. Then,
 * with those N incidents open, `!ongoing` is asked a few times. Composition time: from the fake
 * releasing the command to the reply being queued in the bot's outbox (created_at of its last
 * part, read from the bot's SQLite file), or to its first part arriving at the fake when that is
 * sooner (all parts are queued before the first is sent). The reply waits in the outbox behind
 * what the bot has to say about the new topics (checklists, prompts), sent at 150/min; that wait
 * is delivery, not composition. The reply is checked for readability.
 */
import Database from 'better-sqlite3';
import { performance } from 'node:perf_hooks';
import { BotRunner, sleep } from '../lib/bot-runner';
import { distinctProblems, flood } from '../lib/load';
import { Recorder } from '../lib/recorder';
import { postAlert, startWorld, STREAMS } from '../lib/world';

export interface CatchupParams {
  seed: number;
  messages: number;
  hosts: number;
  probes: number;
  keep?: boolean;
}

export interface Readability {
  ok: boolean;
  parts: number;
  longestPart: number;
  /** Classes as shown: label, count said, rows shown, rest counted, rows sorted most urgent first. */
  classes: { label: string; count: number; shown: number; rest: number; sorted: boolean }[];
  problems: string[];
}

export interface CatchupRun {
  posted: number;
  catchupMs: number;
  trackedBeforeLive: number;
  catchupRssMb: number;
  /** Release of `!ongoing` → reply composed (see above), per probe; → last part at the fake (NaN while queued). */
  ongoingFirstMs: number[];
  ongoingLastMs: number[];
  /** Messages waiting in the bot's outbox when each probe was asked. */
  queuedAhead: number[];
  readability: Readability;
}

const ZULIP_LIMIT = 10_000;

/** "15h 59m" → ms (formatDuration's output). */
function parseDuration(text: string): number | undefined {
  const units: Record<string, number> = { s: 1e3, m: 6e4, h: 36e5, d: 864e5, w: 6048e5 };
  let total = 0;
  let any = false;
  for (const m of text.matchAll(/(\d+)([smhdw])/g)) {
    total += Number(m[1]) * (units[m[2] as string] as number);
    any = true;
  }
  return any ? total : undefined;
}

/** Time left of an SLA cell: "8h 59m to ack" → +, "**ack overdue 3m**" → −, "—" → +∞. */
function slaLeft(cell: string): number {
  const d = parseDuration(cell);
  if (d === undefined) return Number.POSITIVE_INFINITY;
  return /overdue/.test(cell) ? -d : d;
}

export function checkReadable(parts: readonly string[], expectedTotal: number): Readability {
  const problems: string[] = [];
  const longestPart = Math.max(0, ...parts.map((p) => Array.from(p).length));
  if (longestPart > ZULIP_LIMIT) problems.push(`a part has ${longestPart} characters (limit ${ZULIP_LIMIT})`);
  if (parts.some((p) => p.includes('[message truncated]'))) problems.push('truncated by Zulip');
  const text = parts.join('\n');
  const head = new RegExp(`Ongoing incidents: ${expectedTotal}\\b`);
  if (!head.test(parts[0] ?? '')) problems.push(`first line does not say ${expectedTotal} incidents: ${(parts[0] ?? '').split('\n')[0]}`);
  const classes: Readability['classes'] = [];
  let current: (Readability['classes'][number] & { left: number[] }) | undefined;
  const close = () => {
    if (!current) return;
    current.sorted = current.left.every((v, i) => i === 0 || v >= (current!.left[i - 1] as number));
    const { left: _left, ...rest } = current;
    classes.push(rest);
  };
  for (const line of text.split('\n')) {
    const section = /^\*\*([A-Za-z -]+)\*\* \((\d+)\)$/.exec(line);
    if (section) {
      close();
      current = { label: section[1] as string, count: Number(section[2]), shown: 0, rest: 0, sorted: true, left: [] };
      continue;
    }
    if (!current) continue;
    if (line.startsWith('|') && !line.startsWith('|---') && !/^\|\s*Host\s*\|/.test(line)) {
      const cells = line.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim());
      current.shown++;
      current.left.push(slaLeft(cells[4] ?? ''));
    }
    const more = /^…and (\d+) more/.exec(line);
    if (more) current.rest = Number(more[1]);
  }
  close();
  if (classes.length === 0) problems.push('no per-class sections');
  for (const c of classes) {
    if (c.shown + c.rest !== c.count) problems.push(`${c.label}: ${c.shown} shown + ${c.rest} counted ≠ ${c.count}`);
    if (!c.sorted) problems.push(`${c.label}: rows not most urgent first`);
  }
  const sum = classes.reduce((a, c) => a + c.count, 0);
  if (sum !== expectedTotal) problems.push(`classes add up to ${sum}, not ${expectedTotal}`);
  return { ok: problems.length === 0, parts: parts.length, longestPart, classes, problems };
}

/** Watches the bot's outbox table (read-only; WAL lets it read while the bot writes). */
class OutboxWatch {
  private readonly db: Database.Database | undefined;
  private readonly rows: Database.Statement<[number], { id: number; item: string; created_at: number }> | undefined;
  private readonly count: Database.Statement<[], { n: number; top: number | null }> | undefined;

  constructor(path: string) {
    try {
      this.db = new Database(path, { readonly: true, fileMustExist: true });
      this.rows = this.db.prepare('SELECT id, item, created_at FROM outbox WHERE id > ? ORDER BY id');
      this.count = this.db.prepare('SELECT COUNT(*) AS n, MAX(id) AS top FROM outbox');
    } catch {
      this.db = undefined; // no outbox table as expected: measure at the fake only
    }
  }

  /** Messages waiting, and the newest row id. */
  depth(): { n: number; top: number } {
    const r = this.count?.get();
    return { n: r?.n ?? 0, top: r?.top ?? 0 };
  }

  /** Messages into `topic` queued after row `afterId`: content and when each was queued (epoch ms). */
  inTopic(topic: string, afterId: number): { content: string; createdAt: number }[] {
    if (!this.rows) return [];
    const out: { content: string; createdAt: number }[] = [];
    for (const r of this.rows.all(afterId)) {
      const item = JSON.parse(r.item) as { topic?: string; content?: string };
      if (item.topic === topic) out.push({ content: item.content ?? '', createdAt: r.created_at });
    }
    return out;
  }

  close(): void {
    this.db?.close();
  }
}

export async function catchupRun(p: CatchupParams, progress: (s: string) => void): Promise<CatchupRun> {
  const w = await startWorld({ keep: p.keep });
  const rec = new Recorder(w.fake, w.bot.email);
  let bot = BotRunner.startBot(w.configPath, w.logPath);
  let watch: OutboxWatch | undefined;
  try {
    await bot.live();
    await bot.stop('SIGTERM');
    const posts = distinctProblems(p.messages, p.hosts, p.seed);
    progress(`bot down; posting ${posts.length} alerts over ${p.hosts} hosts`);
    const ids = await flood(posts, (a) => postAlert(w, a), 500);
    await sleep(200);
    bot = BotRunner.startBot(w.configPath, `${w.logPath}.2`);
    const liveAt = await bot.live(60_000);
    const catchupMs = liveAt - bot.spawnEpoch;
    bot.poll();
    const trackedBeforeLive = ids.filter((id) => (bot.tracked.get(id) ?? Number.POSITIVE_INFINITY) <= liveAt).length;
    const catchupRssMb = bot.memory().rssMb;
    progress(`caught up in ${catchupMs} ms; ${trackedBeforeLive}/${ids.length} tracked; asking !ongoing`);

    await sleep(500);
    watch = new OutboxWatch(w.dbPath);
    const first: number[] = [];
    const last: number[] = [];
    const queuedAhead: number[] = [];
    let readability: Readability | undefined;
    for (let k = 1; k <= p.probes; k++) {
      const topic = `ongoing probe ${k}`;
      const ahead = watch.depth();
      queuedAhead.push(ahead.n);
      const id = w.fake.post(w.ann.email, STREAMS.general, topic, '!ongoing').id;
      // The reply either goes out at once (the outbox was empty) or waits in the outbox behind
      // what the bot had to say about the posts it caught up on: look in both places.
      let queued: { content: string; createdAt: number }[] = [];
      let sentN = 0;
      let stableSince = Date.now();
      await bot.waitFor(() => {
        const q = watch!.inTopic(topic, ahead.top);
        const n = rec.postsInTopic(topic).length;
        if (q.length > queued.length || n !== sentN) {
          if (q.length > queued.length) queued = q;
          sentN = n;
          stableSince = Date.now();
        }
        return (queued.length > 0 || sentN > 0) && Date.now() - stableSince > 300;
      }, 20_000, '!ongoing reply', 2);
      const rel = rec.released.get(id) as number;
      const toEpoch = Date.now() - performance.now();
      const sent = rec.postsInTopic(topic);
      // Both are upper bounds of when the reply was composed: every part is queued before the
      // first is sent, and a part's created_at is when it was queued.
      const viaFake = sent.length > 0 ? (sent[0]?.at as number) - rel : Number.POSITIVE_INFINITY;
      const viaOutbox = queued.length > 0 ? Math.max(...queued.map((q) => q.createdAt)) - (rel + toEpoch) : Number.POSITIVE_INFINITY;
      first.push(Math.min(viaFake, viaOutbox));
      last.push(sent.length > 0 ? (sent.at(-1)?.at as number) - rel : Number.NaN);
      const parts = queued.length > 0 && queued.length >= sent.length ? queued.map((q) => q.content) : sent.map((r) => r.content ?? '');
      readability ??= checkReadable(parts, ids.length);
      await sleep(500);
    }
    return { posted: ids.length, catchupMs, trackedBeforeLive, catchupRssMb, ongoingFirstMs: first, ongoingLastMs: last, queuedAhead, readability: readability as Readability };
  } finally {
    watch?.close();
    await bot.stop();
    await w.close();
  }
}
