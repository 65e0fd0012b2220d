/**
 * Runs a process (the real bot: `node dist/src/main.js --config FILE`, or the minimal bot) with
 * its stdout and stderr going to a file, as under a service manager, and reads its pino log
 * lines from that file as they come. Resource figures come from /proc.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ROOT } from '../../test/support/bot-process';

/**
 * The build measured: this tree's, or BENCH_BOT_ROOT's (another checkout, built: its
 * dist/src/main.js started with its own package.json "start" options — a before/after comparison
 * with the same benchmark, e.g. `git archive <commit> | tar -x -C /tmp/before`, build there, run here).
 */
const BOT_ROOT = process.env.BENCH_BOT_ROOT || ROOT;
export const BOT_MAIN = join(BOT_ROOT, 'dist/src/main.js');

/** The `--…` options before the script in package.json's "start" (`node --max-semi-space-size=1 … dist/src/main.js`). */
export function productionNodeArgs(): string[] {
  const pkg = JSON.parse(readFileSync(join(BOT_ROOT, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  const words = (pkg.scripts?.start ?? '').split(/\s+/);
  return words.slice(1).filter((w, i, all) => w.startsWith('--') && all.slice(0, i).every((x) => x.startsWith('--')));
}
export const MINIMAL_BOT = join(ROOT, 'dist/bench/minimal-bot.js');

export type LogLine = Record<string, unknown> & { time?: number; msg?: string; level?: number };

let clkTck: number | undefined;
/** Clock ticks per second (for /proc/PID/stat). */
export function clockTicks(): number {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Every process started and not yet stopped (killed if the benchmark itself dies). */
export const running = new Set<ChildProcess>();

export function killAll(): void {
  for (const c of running) c.kill('SIGKILL');
  running.clear();
}

export class ProcessRunner {
  /** Epoch ms and performance.now() when the process was spawned. */
  readonly spawnEpoch: number;
  readonly spawnHr: number;
  readonly lines: LogLine[] = [];
  /** Lines that were not JSON (stderr, crashes). */
  readonly rawLines: string[] = [];
  private readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;
  private offset = 0;
  private partial = '';
  private readonly fd: number;
  private closed = false;

  constructor(
    readonly child: ChildProcess,
    private readonly logPath: string,
    private readonly onLine?: (l: LogLine) => void,
  ) {
    this.spawnEpoch = Date.now();
    this.spawnHr = performance.now();
    running.add(child);
    this.exited = new Promise((resolve) => child.on('exit', (code) => { this.exitCode = code; running.delete(child); resolve(code); }));
    this.fd = openSync(logPath, 'r');
  }

  static start(args: string[], logPath: string, onLine?: (l: LogLine) => void): ProcessRunner {
    const out = openSync(logPath, 'w');
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', out, out] });
    closeSync(out);
    return new ProcessRunner(child, logPath, onLine);
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** Reads what the process wrote since the last call. */
  poll(): void {
    const buf = Buffer.alloc(1 << 20);
    for (;;) {
      const n = readSync(this.fd, buf, 0, buf.length, this.offset);
      if (n <= 0) break;
      this.offset += n;
      const text = this.partial + buf.subarray(0, n).toString('utf8');
      const parts = text.split('\n');
      this.partial = parts.pop() ?? '';
      for (const raw of parts) {
        if (!raw) continue;
        if (raw.startsWith('{')) {
          try {
            const l = JSON.parse(raw) as LogLine;
            this.lines.push(l);
            this.onLine?.(l);
            continue;
          } catch {
            /* not JSON */
          }
        }
        this.rawLines.push(raw);
      }
      if (n < buf.length) break;
    }
  }

  /** Polls the log until `cond` holds; throws after timeoutMs (or when the process exits). */
  async waitFor(cond: () => boolean, timeoutMs: number, what: string, everyMs = 10): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      this.poll();
      if (cond()) return;
      if (this.exitCode !== undefined) throw new Error(`${what}: the process exited (${this.exitCode}); last output:\n${this.tail()}`);
      if (Date.now() > until) throw new Error(`${what}: not within ${timeoutMs} ms; last output:\n${this.tail()}`);
      await sleep(everyMs);
    }
  }

  tail(n = 12): string {
    const all = readFileSync(this.logPath, 'utf8').split('\n').filter(Boolean);
    return all.slice(-n).map((l) => `  ${l.slice(0, 300)}`).join('\n');
  }

  /** VmRSS and VmHWM (peak RSS) in MB. */
  memory(): { rssMb: number; peakRssMb: number } {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)\\s+kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 };
  }

  /** User + system CPU time used so far, in seconds. */
  cpuSeconds(): number {
    const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After "pid (comm) ": state is field 3, utime field 14, stime field 15.
    return (Number(fields[11]) + Number(fields[12])) / clockTicks();
  }

  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    if (this.exitCode === undefined) this.child.kill(signal);
    const code = await this.exited;
    if (!this.closed) {
      this.poll();
      closeSync(this.fd);
      this.closed = true;
    }
    return code;
  }

  exitedCode(): number | null | undefined {
    return this.exitCode;
  }
}

/** The real bot, as production runs it. */
export class BotRunner extends ProcessRunner {
  /** pino `time` of each 'polling live' line. */
  readonly liveAt: number[] = [];
  /** Message id → pino `time` of the line saying the alert post was handled. */
  readonly tracked = new Map<number, number>();
  lastTrackedAt = 0;
  readonly errors: LogLine[] = [];

  static startBot(configPath: string, logPath: string): BotRunner {
    const out = openSync(logPath, 'w');
    // The node options of the production start command (package.json "start"), then
    // BENCH_BOT_NODE_ARGS: extra node options for the bot only, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
    const nodeArgs = [...productionNodeArgs(), ...(process.env.BENCH_BOT_NODE_ARGS ?? '').split(' ').filter(Boolean)];
    const child = spawn(process.execPath, [...nodeArgs, BOT_MAIN, '--config', configPath], {
      cwd: BOT_ROOT,
      // The config decides the log level, as in production.
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'LOG_LEVEL' && k !== 'ZULIP_API_KEY')),
      stdio: ['ignore', out, out],
    });
    closeSync(out);
    const bot: BotRunner = new BotRunner(child, logPath, (l) => bot.see(l));
    return bot;
  }

  private see(l: LogLine): void {
    const t = typeof l.time === 'number' ? l.time : Date.now();
    if (l.msg === 'polling live') this.liveAt.push(t);
    // One info line per alert post handled (src/bot.ts): "alert opened: …", "alert changes nothing", …
    if (typeof l.messageId === 'number' && typeof l.msg === 'string' && (l.msg.startsWith('alert ') || l.msg.startsWith('post from an alert sender'))) {
      if (!this.tracked.has(l.messageId)) this.tracked.set(l.messageId, t);
      if (t > this.lastTrackedAt) this.lastTrackedAt = t;
    }
    if ((l.level ?? 0) >= 50) this.errors.push(l);
  }

  /** A profiled bot (BENCH_BOT_NODE_ARGS) is stopped with SIGTERM so that node writes the profile. */
  override async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    return super.stop(process.env.BENCH_BOT_NODE_ARGS ? 'SIGTERM' : signal);
  }

  async live(timeoutMs = 30_000, count = 1): Promise<number> {
    await this.waitFor(() => this.liveAt.length >= count, timeoutMs, 'bot polling live');
    return this.liveAt[count - 1] as number;
  }

  async allTracked(ids: readonly number[], timeoutMs: number, everyMs = 20): Promise<void> {
    let i = 0;
    await this.waitFor(() => {
      while (i < ids.length && this.tracked.has(ids[i] as number)) i++;
      return i >= ids.length;
    }, timeoutMs, `${ids.length} alert posts tracked`, everyMs);
  }
}
