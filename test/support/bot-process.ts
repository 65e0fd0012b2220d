/**
 * Runs the real bot (built code, `node dist/src/main.js --config FILE`) as a child process
 * against a fake Zulip server, the way production runs it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FakeZulip, type FakeUser, type FakeZulipOptions } from './fake-zulip';

/** The project root, whether this runs from test/ (ts-jest) or dist/test/ (built). */
export const ROOT = [resolve(__dirname, '../..'), resolve(__dirname, '../../..')].find((d) => existsSync(join(d, 'package.json'))) as string;
export const MAIN = join(ROOT, 'dist/src/main.js');

export const STREAMS = {
  critical: 'SRE # Critical',
  nonCritical: 'SRE ## Non-critical',
  informational: 'SRE ### Informational',
  general: 'SRE - General',
  organisational: 'Organisational',
};

/** The SRE team on the fake Zulip: the bot, the Zabbix sender and two people. */
export interface Team {
  bot: FakeUser;
  zabbix: FakeUser;
  ann: FakeUser;
  bob: FakeUser;
}

export interface World extends Team {
  fake: FakeZulip;
  dir: string;
  configPath: string;
}

/** Adds the team's users and streams, as the SRE team has them (every user on every SRE stream), and a stream 'random'. */
export function populate(fake: FakeZulip): Team {
  const bot = fake.addUser({ email: 'sre-bot@example.org', fullName: 'SRE Bot', isBot: true });
  const zabbix = fake.addUser({ email: 'zabbix-bot@example.org', fullName: 'Zabbix', isBot: true });
  const ann = fake.addUser({ email: 'ann@example.org', fullName: 'Ann Smith' });
  const bob = fake.addUser({ email: 'bob@example.org', fullName: 'Bob Jones' });
  for (const s of Object.values(STREAMS)) {
    fake.addStream(s);
    for (const u of [bot, zabbix, ann, bob]) fake.subscribe(u.email, s);
  }
  fake.addStream('random');
  return { bot, zabbix, ann, bob };
}

/** Temp dirs made for a fake's world: stopWorld removes them. */
const dirsOf = new WeakMap<FakeZulip, string[]>();

/**
 * A new temp dir (`prefix`…, removed by stopWorld with its fake) with the bot's config in bot.config.json: the
 * team's bot on `fake`, Zabbix as the alert sender, the store in the dir (bot.db); `config` merged
 * over that (top-level keys replace).
 */
export function writeConfig(fake: FakeZulip, team: Team, prefix: string, config: Record<string, unknown> = {}): { dir: string; configPath: string; dbPath: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirsOf.set(fake, [...(dirsOf.get(fake) ?? []), dir]);
  const configPath = join(dir, 'bot.config.json');
  const dbPath = join(dir, 'bot.db');
  const full = {
    zulip: { site: fake.url, email: team.bot.email, apiKey: team.bot.apiKey },
    alerts: { senders: [team.zabbix.email] },
    store: { path: dbPath },
    ...config,
  };
  writeFileSync(configPath, JSON.stringify(full, null, 2));
  return { dir, configPath, dbPath };
}

/** Users and streams as the SRE team has them, and a config for tests: debug log, a rate limit of 600/min. */
export function setUpWorld(fake: FakeZulip, config: Record<string, unknown> = {}): World {
  const team = populate(fake);
  const { dir, configPath } = writeConfig(fake, team, 'sre-bot-it-', { log: { level: 'debug' }, rateLimit: { perMinute: 600 }, ...config });
  return { fake, ...team, dir, configPath };
}

export class BotProcess {
  readonly output: string[] = [];
  private readonly exited: Promise<number | null>;

  private constructor(readonly child: ChildProcess) {
    // A line may arrive in several chunks: keep the unfinished tail of each stream until its newline.
    const collector = () => {
      let tail = '';
      return (chunk: Buffer) => {
        const lines = (tail + chunk.toString('utf8')).split('\n');
        tail = lines.pop() ?? '';
        this.output.push(...lines.filter(Boolean));
      };
    };
    child.stdout?.on('data', collector());
    child.stderr?.on('data', collector());
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  static start(configPath: string, env: Record<string, string> = {}, extraArgs: string[] = []): BotProcess {
    const child = spawn(process.execPath, [MAIN, '--config', configPath, ...extraArgs], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new BotProcess(child);
  }

  /** Parsed JSON log lines. */
  logs(): Record<string, unknown>[] {
    return this.output.flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }

  async waitForLog(pred: (l: Record<string, unknown>) => boolean, timeoutMs = 10_000): Promise<Record<string, unknown>> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.logs().find(pred);
      if (hit) return hit;
      if (Date.now() > until) throw new Error(`log line not seen in ${timeoutMs} ms; last lines:\n${this.output.slice(-15).join('\n')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /**
   * Resolves when the bot says it is polling live (registered and caught up) after this call: a
   * line already there does not count (lines come in writes of several, see src/core/log.ts).
   */
  async live(timeoutMs = 10_000): Promise<void> {
    const count = () => this.logs().filter((l) => l.msg === 'polling live').length;
    const before = count();
    const until = Date.now() + timeoutMs;
    while (count() <= before) {
      if (Date.now() > until) throw new Error(`bot not live in ${timeoutMs} ms; last lines:\n${this.output.slice(-15).join('\n')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    this.child.kill(signal);
    return this.exited;
  }

  exitCode(): Promise<number | null> {
    return this.exited;
  }
}

export interface Running {
  fake: FakeZulip;
  w: World;
  bot: BotProcess | undefined;
}

/**
 * A fake Zulip with the team's users and streams, and (unless `startBot` is false) the real bot
 * started against it and polling live. `prepare` runs on the world before the bot starts; `fake`:
 * the fake's options (e.g. `editLimitSeconds`).
 */
export async function startWorld(
  config: Record<string, unknown> = {},
  opts: { startBot?: boolean; heartbeatMs?: number; prepare?: (w: World) => void; fake?: FakeZulipOptions } = {},
): Promise<Running> {
  const fake = await FakeZulip.start({ ...opts.fake, heartbeatMs: opts.heartbeatMs ?? opts.fake?.heartbeatMs ?? 1_000 });
  const w = setUpWorld(fake, config);
  opts.prepare?.(w);
  if (opts.startBot === false) return { fake, w, bot: undefined };
  return { fake, w, bot: await startBot(w.configPath) };
}

/** Starts the bot and waits until it polls live. */
export async function startBot(configPath: string): Promise<BotProcess> {
  const bot = BotProcess.start(configPath);
  await bot.live();
  return bot;
}

/** Kills the bot (as a crash would) and starts it again, live. */
export async function restartBot(bot: BotProcess | undefined, configPath: string): Promise<BotProcess> {
  await bot?.kill('SIGKILL');
  return startBot(configPath);
}

/** Kills the bot, stops the fake and removes the temp dirs made for it. */
export async function stopWorld(r: Partial<Running>): Promise<void> {
  await r.bot?.kill('SIGKILL');
  await r.fake?.stop();
  if (r.fake) for (const dir of dirsOf.get(r.fake) ?? []) rmSync(dir, { recursive: true, force: true });
}
