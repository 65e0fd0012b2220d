/**
 * The store under trouble, with the real bot as a process (build first: `npx tsc -p tsconfig.json`):
 * - a store that cannot write (disk full, injected through SRE_BOT_TEST_STORE_FAULT_FILE, see
 *   src/store/fault.ts): intake stops, nothing is skipped, /healthz says why, the team is told
 *   once (straight through Zulip: the outbox is in that store) and once when it works again;
 * - two bots on one store: the second exits 2 naming the first;
 * - the store file deleted under the running bot: /healthz fails, logged and said once;
 * - the store file corrupted under the running bot: one structured fatal line, exit 1.
 */
import { closeSync, existsSync, openSync, readFileSync, rmSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { FakeMessage, FakeZulip } from '../support/fake-zulip';
import { BotProcess, startWorld, stopWorld, STREAMS, type World } from '../support/bot-process';
import { alertPost } from '../support/factories';
import { until } from '../support/wait';

jest.setTimeout(90_000);

let fake: FakeZulip;
let w: World;
const bots: BotProcess[] = [];

beforeEach(async () => {
  ({ fake, w } = await startWorld({ http: { port: 0 } }, { startBot: false }));
});

afterEach(async () => {
  for (const b of bots.splice(0)) await b.kill('SIGKILL');
  await stopWorld({ fake });
  rmSync(w.dir, { recursive: true, force: true });
});

const dbPath = () => join(w.dir, 'bot.db');

async function start(env: Record<string, string> = {}): Promise<BotProcess> {
  const b = BotProcess.start(w.configPath, env);
  bots.push(b);
  await b.live(20_000);
  return b;
}

async function portOf(b: BotProcess): Promise<number> {
  return Number((await b.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('http listening'), 15_000)).port);
}

async function health(port: number): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`http://127.0.0.1:${port}/healthz`);
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

function zabbix(host: string, eventId: string, trigger: string, status: 'PROBLEM' | 'OK' = 'PROBLEM'): FakeMessage {
  return fake.post(w.zabbix.email, STREAMS.critical, host, alertPost({ host, eventId, trigger, severity: 'High', status }), { client: 'ZulipZabbixWebhook' });
}

const fromBot = (m: FakeMessage) => m.sender_email === w.bot.email;
const botSays = (pattern: RegExp) => fake.messagesBy(w.bot.email).filter((m) => pattern.test(m.content));

/** Reads the store through a second connection (the bot's fault is the bot's only). */
function readStore<T>(fn: (db: Database.Database) => T): T {
  const db = new Database(dbPath());
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

test('disk full: alerts and commands wait (none skipped), /healthz says why, the team is told once, intake resumes by itself', async () => {
  const faultFile = join(w.dir, 'store.fault');
  const b = await start({ SRE_BOT_TEST_STORE_FAULT_FILE: faultFile });
  const port = await portOf(b);
  expect((await health(port)).status).toBe(200);

  writeFileSync(faultFile, 'full');
  const alert = zabbix('web-01', '5001', 'HTTPS is down on web-01');
  // Before the fix, a later command moved the position past the alert that was not stored.
  const ongoing = fake.post(w.ann.email, STREAMS.general, 'bot', '!ongoing');
  const told = await fake.waitForMessage((m) => fromBot(m) && m.display_recipient === STREAMS.general && /My store cannot write/.test(m.content), { timeoutMs: 20_000 });
  expect(told.content).toContain('database or disk is full');
  const down = await health(port);
  expect(down.status).toBe(503);
  expect(down.body.reason).toBe('store: cannot write: database or disk is full');
  expect(down.body.store).toMatchObject({ ok: false, reason: 'store: cannot write: database or disk is full', intakeStopped: true });
  await b.waitForLog((l) => l.msg === 'the store cannot write: intake waits and handles the same message again');
  expect(b.logs().filter((l) => l.msg === 'message handling failed; skipped')).toEqual([]);
  expect(fake.messagesIn(STREAMS.general, 'bot').filter(fromBot)).toEqual([]); // not answered yet: it waits
  // Nothing moved: the alert is not tracked and the position is before it.
  expect(readStore((db) => db.prepare("SELECT COUNT(*) AS n FROM incidents WHERE event_id = '5001'").get())).toEqual({ n: 0 });
  expect(Number(readStore((db) => (db.prepare("SELECT value FROM state WHERE key = 'zulip.lastMessageId'").get() as { value: string }).value))).toBeLessThan(alert.id);

  await new Promise((r) => setTimeout(r, 1_500)); // still down: said once only
  unlinkSync(faultFile);
  // Answered once the store writes again. (A read-only command is answered ahead of the alerts
  // queued before it — humans first — so this answer may not list the alert yet: asked again below.)
  await fake.waitForMessage((m) => fromBot(m) && m.subject === 'bot', { afterId: ongoing.id, timeoutMs: 20_000 });
  await fake.waitForMessage((m) => fromBot(m) && /My store writes again/.test(m.content), { timeoutMs: 20_000 });
  await until('healthz 200 again', async () => (await health(port)).status === 200, 20_000);
  await new Promise((r) => setTimeout(r, 1_500));
  expect(botSays(/My store cannot write/)).toHaveLength(1);
  expect(botSays(/My store writes again/)).toHaveLength(1);
  expect(fake.messagesIn(STREAMS.general, 'bot').filter(fromBot)).toHaveLength(1); // answered once
  const again = fake.post(w.ann.email, STREAMS.general, 'bot', '!ongoing');
  const answer = await fake.waitForMessage((m) => fromBot(m) && m.subject === 'bot', { afterId: again.id, timeoutMs: 20_000 });
  expect(answer.content).toContain('**Ongoing incidents: 1**');
  expect(answer.content).toContain('HTTPS is down on web-01');
  expect(readStore((db) => db.prepare("SELECT alert_count AS n FROM incidents WHERE event_id = '5001'").get())).toEqual({ n: 1 });
  const errors = b.logs().filter((l) => Number(l.level) >= 50);
  expect(errors.map((l) => l.msg)).toEqual(['store: cannot write: database or disk is full; intake stopped until the store can write again (no message is skipped)']);
});

test('killed after the store writes again but before saying so: the next process says it once, not twice', async () => {
  const faultFile = join(w.dir, 'store.fault');
  const a = await start({ SRE_BOT_TEST_STORE_FAULT_FILE: faultFile });
  writeFileSync(faultFile, 'full');
  zabbix('web-01', '5101', 'HTTPS is down on web-01');
  await fake.waitForMessage((m) => fromBot(m) && /My store cannot write/.test(m.content), { timeoutMs: 20_000 });
  // Zulip now refuses every send: the "writes again" notice stays queued in the outbox.
  let refused = 0;
  fake.onRequest = (e) => {
    if (e.fault === 'fail' && e.method === 'POST' && /\/messages$/.test(e.path)) refused += 1;
  };
  fake.failNext(100_000, { method: 'POST', path: /\/messages$/, body: 'json' });
  unlinkSync(faultFile);
  await a.waitForLog((l) => l.msg === 'store writes again; intake resumed', 20_000);
  await until('a send refused', () => refused > 0, 20_000);
  await a.kill('SIGKILL');
  fake.clearFaults();
  fake.onRequest = undefined;
  expect(botSays(/My store writes again/)).toHaveLength(0);

  const b = await start();
  await fake.waitForMessage((m) => fromBot(m) && /My store writes again/.test(m.content), { timeoutMs: 20_000 });
  await new Promise((r) => setTimeout(r, 3_000));
  // Before the fix the new process queued its own notice beside the dead one's: said twice.
  expect(botSays(/My store writes again/).map((m) => m.content)).toEqual([expect.stringContaining('database or disk is full')]);
  expect(botSays(/My store cannot write/)).toHaveLength(1);
  expect(b.logs().filter((l) => l.msg === 'the store outage said before the restart: its end is already queued')).toHaveLength(1);
});

test('a second bot on the same store exits 2 naming the first; after a clean stop or a SIGKILL the store is free again', async () => {
  const first = await start();
  const second = BotProcess.start(w.configPath);
  bots.push(second);
  expect(await second.exitCode()).toBe(2);
  const pid = String(first.child.pid);
  const line = second.output.find((l) => l.startsWith('fatal: store '));
  expect(line).toMatch(new RegExp(`^fatal: store ${dbPath().replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is in use by pid ${pid} on host \\S+ \\(started \\d{4}-\\d\\d-\\d\\dT`));
  // The first one still answers, once.
  const cmd = fake.post(w.ann.email, STREAMS.general, 'bot', '!help');
  await fake.waitForMessage((m) => fromBot(m) && m.subject === 'bot', { afterId: cmd.id, timeoutMs: 10_000 });
  await new Promise((r) => setTimeout(r, 1_000));
  expect(fake.messagesIn(STREAMS.general, 'bot').filter(fromBot)).toHaveLength(1);

  expect(await first.kill('SIGTERM')).toBe(0);
  expect(existsSync(`${dbPath()}.lock`)).toBe(false); // released on a clean exit
  const third = await start();
  expect(JSON.parse(readFileSync(`${dbPath()}.lock`, 'utf8'))).toMatchObject({ pid: third.child.pid });
  await third.kill('SIGKILL'); // leaves its lock behind: stale (its pid is gone), taken over
  expect(existsSync(`${dbPath()}.lock`)).toBe(true);
  const fourth = await start();
  expect(JSON.parse(readFileSync(`${dbPath()}.lock`, 'utf8'))).toMatchObject({ pid: fourth.child.pid });
});

test('the store file deleted under the running bot: /healthz fails with the reason, logged at error level and said once', async () => {
  const b = await start();
  const port = await portOf(b);
  expect((await health(port)).status).toBe(200);
  unlinkSync(dbPath());
  const h = await health(port);
  expect(h.status).toBe(503);
  expect(String(h.body.reason)).toMatch(/^store: the store file .*bot\.db was deleted while open/);
  const said = await fake.waitForMessage((m) => fromBot(m) && m.display_recipient === STREAMS.general && /was deleted while open/.test(m.content), { timeoutMs: 20_000 });
  expect(said.content).toContain(dbPath());
  await b.waitForLog((l) => l.level === 50 && /was deleted while open/.test(String(l.msg)));
  await new Promise((r) => setTimeout(r, 6_000)); // more checks run: still said once
  expect(botSays(/was deleted while open/)).toHaveLength(1);
  expect(b.logs().filter((l) => l.level === 50 && /was deleted while open/.test(String(l.msg)))).toHaveLength(1);
  expect((await health(port)).status).toBe(503);

  // A file put back in its place is another file: still not the open database.
  writeFileSync(dbPath(), '');
  expect(String((await health(port)).body.reason)).toMatch(/was replaced by another file/);
});

test('the store file corrupted under the running bot: one structured fatal line naming the reason, exit 1, no raw stack', async () => {
  const b = await start();
  const p = zabbix('web-02', '6001', 'Disk full on web-02');
  await b.waitForLog((l) => l.messageId === p.id && typeof l.msg === 'string' && l.msg.startsWith('alert opened'));
  // A second connection: move everything into the main file, write elsewhere (so the bot drops
  // its page cache), then overwrite the incidents table's root page with garbage.
  const db = new Database(dbPath());
  db.pragma('wal_checkpoint(TRUNCATE)');
  const root = (db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'incidents'").get() as { rootpage: number }).rootpage;
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  db.prepare("INSERT OR REPLACE INTO state (key, value) VALUES ('test.touch', '1')").run();
  db.close();
  const fd = openSync(dbPath(), 'r+');
  writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, (root - 1) * pageSize);
  closeSync(fd);

  fake.post(w.ann.email, STREAMS.general, 'bot', '!ongoing');
  expect(await b.exitCode()).toBe(1);
  const fatal = b.logs().filter((l) => l.level === 60);
  expect(fatal).toHaveLength(1);
  expect(fatal[0]).toMatchObject({ code: 'SQLITE_CORRUPT', reason: 'the database file is corrupt: database disk image is malformed' });
  expect(String(fatal[0]?.msg)).toMatch(/^the store at .*bot\.db is corrupt: database disk image is malformed$/);
  expect(b.output.filter((l) => /^\s+at /.test(l))).toEqual([]);
  expect(existsSync(`${dbPath()}.lock`)).toBe(false);
});

test('a config with a key twice is refused (exit 2) naming the key path', async () => {
  const text = readFileSync(w.configPath, 'utf8').replace(/^\{/, '{\n  "log": { "level": "info", "level": "debug" },');
  const path = join(w.dir, 'dup.config.json');
  writeFileSync(path, text);
  const b = BotProcess.start(path);
  bots.push(b);
  expect(await b.exitCode()).toBe(2);
  expect(b.output).toContain('config error: log.level: duplicate key (the file sets it more than once; remove all but one)');
  // The world's own "log" comes after the one added above: the root key is there twice too.
  expect(b.output).toContain('config error: log: duplicate key (the file sets it more than once; remove all but one)');
  expect(existsSync(`${dbPath()}.lock`)).toBe(false);
});
