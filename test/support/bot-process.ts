/**
 * Runs the real bot (built code, `node dist/src/main.js --config FILE`) as a child process
 * against a fake Zulip server, the way production runs it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FakeZulip, type FakeUser } from './fake-zulip';

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

export interface World {
  fake: FakeZulip;
  bot: FakeUser;
  zabbix: FakeUser;
  ann: FakeUser;
  bob: FakeUser;
  dir: string;
  configPath: string;
}

/** Users and streams as the SRE team has them. */
export function setUpWorld(fake: FakeZulip, config: Record<string, unknown> = {}): World {
  const bot = fake.addUser({ email: 'sre-bot@example.org', fullName: 'SRE Bot', isBot: true });
  const zabbix = fake.addUser({ email: 'zabbix-bot@example.org', fullName: 'Zabbix', isBot: true });
  const ann = fake.addUser({ email: 'ann@example.org', fullName: 'Ann Smith' });
  const bob = fake.addUser({ email: 'bob@example.org', fullName: 'Bob Jones' });
  for (const s of Object.values(STREAMS)) {
    fake.addStream(s);
    for (const u of [bot, zabbix, ann, bob]) fake.subscribe(u.email, s);
  }
  fake.addStream('random');
  const dir = mkdtempSync(join(tmpdir(), 'sre-bot-it-'));
  const configPath = join(dir, 'bot.config.json');
  writeFileSync(
    configPath,
    JSON.stringify(
      {
        zulip: { site: fake.url, email: bot.email, apiKey: bot.apiKey },
        alerts: { senders: [zabbix.email] },
        store: { path: join(dir, 'bot.db') },
        log: { level: 'debug' },
        rateLimit: { perMinute: 600 },
        ...config,
      },
      null,
      2,
    ),
  );
  return { fake, bot, zabbix, ann, bob, dir, configPath };
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

  /** Resolves when the bot is polling live (registered and caught up). */
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
 * started against it and polling live. `prepare` runs on the world before the bot starts.
 */
export async function startWorld(
  config: Record<string, unknown> = {},
  opts: { startBot?: boolean; heartbeatMs?: number; prepare?: (w: World) => void } = {},
): Promise<Running> {
  const fake = await FakeZulip.start({ heartbeatMs: opts.heartbeatMs ?? 1_000 });
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

export async function stopWorld(r: Partial<Running>): Promise<void> {
  await r.bot?.kill('SIGKILL');
  await r.fake?.stop();
}
