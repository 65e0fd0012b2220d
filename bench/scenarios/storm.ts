/**
 * Figure 2, the storm: N alert posts over H hosts, posted as fast as the fake takes them. The
 * bot's SLA reminders are set to fire a few seconds after the storm (sla.*.remindEvery), so that
 * a reminder round over every storm incident falls inside the measurement; all else production.
 */
import Database from 'better-sqlite3';
import { BotRunner, sleep } from '../lib/bot-runner';
import { flood, stormPosts } from '../lib/load';
import { Recorder } from '../lib/recorder';
import { maxInWindow } from '../lib/stats';
import { postAlert, startWorld } from '../lib/world';

export interface StormParams {
  seed: number;
  alerts: number;
  hosts: number;
  remindEverySeconds: number;
  keep?: boolean;
  /** The PostgreSQL store (store.url) instead of SQLite (issue 22). */
  storeUrl?: string;
}

export interface StormRun {
  posted: number;
  tracked: number;
  /** Alerts handled per second, first release → last alert handled. */
  throughput: number;
  processMs: number;
  /** First → last release by the fake (the fake's own pace). */
  deliverMs: number;
  /** How long posting the storm into the fake took, and the largest batch one long poll returned. */
  postMs: number;
  maxBatch: number;
  peakRssMb: number;
  baselineRssMb: number;
  /** Highest RSS sampled (every 100 ms) until the last alert was handled, and when the highest sample was taken (s after the storm began). */
  maxRssWhileProcessingMb: number;
  peakSampleAtS: number;
  http429: number;
  /** Requests the bot made that count against Zulip's limit, during the observed window. */
  requests: number;
  windowS: number;
  maxPer60s: number;
  maxPer10s: number;
  outboxLeft: number;
  incidents: number;
  reminderRounds: number;
  remindedIncidents: number;
  reminderTopicRounds: number;
  reminderMessages: number;
  /** Most reminder messages one topic got in one round (1 = coalesced). */
  maxPerTopicPerRound: number;
}

const REMINDER_MARK = '⏰ **Reminder**';

export async function stormRun(p: StormParams, progress: (s: string) => void): Promise<StormRun> {
  const every = `${p.remindEverySeconds}s`;
  const w = await startWorld({
    config: { sla: { critical: { remindEvery: every }, nonCritical: { remindEvery: every }, informational: { remindEvery: every } }, ...(p.storeUrl ? { store: { url: p.storeUrl } } : {}) },
    keep: p.keep,
  });
  const rec = new Recorder(w.fake, w.bot.email);
  const bot = BotRunner.startBot(w.configPath, w.logPath);
  let peakRssMb = Number.NaN;
  try {
    await bot.live();
    await sleep(500);
    const baselineRssMb = bot.memory().rssMb;
    const posts = stormPosts(p.alerts, p.hosts, p.seed);
    const windowStart = Date.now();
    progress(`posting ${posts.length} alerts over ${p.hosts} hosts`);
    // RSS every 100 ms, to say when the peak happens (processing the storm, or the reminder round).
    const rss: { at: number; mb: number }[] = [];
    const sampler = setInterval(() => {
      try {
        rss.push({ at: Date.now(), mb: bot.memory().rssMb });
      } catch {
        /* exited */
      }
    }, 100);
    const ids = await flood(posts, (a) => postAlert(w, a));
    const lastPostAt = Date.now();
    await bot.allTracked(ids, 120_000, 25);
    const lastTracked = Math.max(...ids.map((id) => bot.tracked.get(id) as number));
    const processMs = lastTracked - rec.firstReleaseEpoch;
    progress(`all ${ids.length} tracked in ${processMs} ms; waiting for the reminder round`);
    // Every storm incident falls due remindEvery after it opened (its post's timestamp, in whole
    // seconds): wait for the round that reminds the last of them ('reminder round' in the log).
    const lastDue = Math.floor(lastPostAt / 1000) * 1000 + p.remindEverySeconds * 1000;
    const roundSeen = () => bot.lines.some((l) => l.msg === 'reminder round' && (l.time ?? 0) >= lastDue);
    await bot.waitFor(() => roundSeen() || Date.now() > lastDue + 5000, 60_000, 'reminder round', 50);
    await sleep(300);
    peakRssMb = bot.memory().peakRssMb;
    clearInterval(sampler);
    const windowEnd = Date.now();
    const top = rss.reduce((a, b) => (b.mb > a.mb ? b : a), { at: 0, mb: 0 });
    const rssAtTracked = Math.max(0, ...rss.filter((r) => r.at <= lastTracked).map((r) => r.mb));
    await bot.stop('SIGKILL');

    // What the bot said: what Zulip received plus what is still queued in its outbox.
    // SQLite's file, or the PostgreSQL database (the same SQL but for the outbox's JSON column).
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- pg-native only when measuring PostgreSQL
    const db = p.storeUrl ? (require('../../src/store/postgres-store') as typeof import('../../src/store/postgres-store')).openPgSession(p.storeUrl, 'bench') : undefined;
    const lite = db ? undefined : new Database(w.dbPath, { fileMustExist: true });
    const all = (sql: string) => (db ? db.query(sql) : (lite as Database.Database).prepare(sql).all()) as Record<string, unknown>[];
    const outbox = all(`SELECT ${db ? 'item::text AS item' : 'item'} FROM outbox ORDER BY id`) as { item: string }[];
    const rounds = all(
      `SELECT l.at AS at, i.stream AS stream, i.topic AS topic, COUNT(*) AS n FROM incident_log l
         JOIN incidents i ON i.event_id = l.event_id WHERE l.kind = 'reminder' GROUP BY l.at, i.stream, i.topic`,
    ) as { at: number; stream: string; topic: string; n: number }[];
    const incidents = Number((all('SELECT COUNT(*) AS n FROM incidents')[0] as { n: number }).n);
    db?.close();
    lite?.close();
    const said = new Set<string>();
    for (const r of rec.requests) if (r.method === 'POST' && r.path === '/api/v1/messages' && r.content?.includes(REMINDER_MARK)) said.add(`${r.to}\u0000${r.topic}\u0000${r.content}`);
    for (const row of outbox) {
      const item = JSON.parse(row.item) as { kind?: string; stream?: string; topic?: string; content?: string };
      if (item.kind === 'message' && item.content?.includes(REMINDER_MARK)) said.add(`${item.stream}\u0000${item.topic}\u0000${item.content}`);
    }
    const messagesPerTopic = new Map<string, number>();
    for (const k of said) {
      const [stream, topic] = k.split('\u0000');
      const key = `${stream}\u0000${topic}`;
      messagesPerTopic.set(key, (messagesPerTopic.get(key) ?? 0) + 1);
    }
    const roundsPerTopic = new Map<string, number>();
    for (const r of rounds) roundsPerTopic.set(`${r.stream}\u0000${r.topic}`, (roundsPerTopic.get(`${r.stream}\u0000${r.topic}`) ?? 0) + 1);
    let maxPerTopicPerRound = 0;
    for (const [topic, m] of messagesPerTopic) maxPerTopicPerRound = Math.max(maxPerTopicPerRound, m / Math.max(1, roundsPerTopic.get(topic) ?? 0));

    const limited = rec.limitedRequests().filter((r) => r.epoch >= windowStart).map((r) => r.epoch);
    return {
      posted: ids.length,
      tracked: ids.filter((id) => bot.tracked.has(id)).length,
      throughput: (ids.length * 1000) / processMs,
      processMs,
      deliverMs: Math.max(...ids.map((id) => rec.released.get(id) ?? 0)) - rec.firstRelease,
      postMs: lastPostAt - windowStart,
      maxBatch: rec.maxBatch,
      peakRssMb,
      baselineRssMb,
      maxRssWhileProcessingMb: rssAtTracked,
      peakSampleAtS: (top.at - windowStart) / 1000,
      http429: w.fake.rateLimitHits,
      requests: limited.length,
      windowS: (windowEnd - windowStart) / 1000,
      maxPer60s: maxInWindow(limited, 60_000),
      maxPer10s: maxInWindow(limited, 10_000),
      outboxLeft: outbox.length,
      incidents,
      reminderRounds: new Set(rounds.map((r) => r.at)).size,
      remindedIncidents: rounds.reduce((a, r) => a + r.n, 0),
      reminderTopicRounds: rounds.length,
      reminderMessages: said.size,
      maxPerTopicPerRound,
    };
  } finally {
    await bot.stop();
    await w.close();
  }
}

