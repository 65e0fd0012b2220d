import pino from 'pino';

export type Logger = pino.Logger;

/** Keys whose values never reach the logs: replaced wherever they appear, down to three levels. */
const SECRET_KEYS = new Set(['apiKey', 'api_key', 'token', 'password', 'authorization']);
const CENSOR = '[redacted]';

/**
 * The log object with the values of secret keys replaced, down to three levels deep; the
 * caller's object is left as it is (copied where a value is replaced, errors with their
 * prototype). pino's own `redact` parsed every path on every line: a tenth of a storm's time.
 */
export function redactSecrets<T extends object>(obj: T, depth = 1): T {
  let out: Record<string, unknown> | undefined;
  for (const key of Object.keys(obj)) {
    const v = (obj as Record<string, unknown>)[key];
    let nv = v;
    if (SECRET_KEYS.has(key)) nv = CENSOR;
    else if (depth < 3 && v !== null && typeof v === 'object' && !Array.isArray(v)) nv = redactSecrets(v as object, depth + 1);
    if (nv === v) continue;
    out ??= Object.create(Object.getPrototypeOf(obj), Object.getOwnPropertyDescriptors(obj)) as Record<string, unknown>;
    out[key] = nv;
  }
  return (out ?? obj) as T;
}

/** JSON lines in production; readable lines when `pretty` (the composition root passes stdout.isTTY). */
export function createLogger(level: string, destination?: pino.DestinationStream, pretty = false): Logger {
  const options: pino.LoggerOptions = { level, base: { name: 'zulip-sre-bot' }, formatters: { log: (o) => redactSecrets(o) } };
  if (pretty && !destination) return pino({ ...options, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,name' } } });
  // Stdout written asynchronously (the write itself off the main thread, lines kept in order,
  // flushed at exit): a slow log file or pipe does not hold up a reply. A line logged just before
  // a SIGKILL may be lost.
  return pino(options, destination ?? soonAfter(pino.destination({ dest: 1, sync: false }), LOG_DELAY_MS));
}

/** Lines are written at most this long after they are logged (at once when this much has gathered). */
export const LOG_DELAY_MS = 10;
const LOG_BUFFER_BYTES = 16 * 1024;

type Destination = pino.DestinationStream & { flushSync(): void };

/**
 * The lines logged while a reply is handled are written after its request, not during: each
 * write, even handed to a worker thread, wakes a thread and a core just as the reply's request
 * goes out. Lines gather here; the first sets one timer that hands them to `dest` `delayMs`
 * later (or at once past LOG_BUFFER_BYTES). Order is kept; at exit what has gathered is written
 * synchronously.
 */
export function soonAfter(dest: Destination, delayMs: number): Destination & { flush(cb?: (err?: Error) => void): void } {
  let pending: string[] = [];
  let bytes = 0;
  let timer: NodeJS.Timeout | undefined;
  const handOver = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (pending.length === 0) return;
    const text = pending.length === 1 ? (pending[0] as string) : pending.join('');
    pending = [];
    bytes = 0;
    dest.write(text);
  };
  process.on('exit', () => {
    handOver();
    dest.flushSync();
  });
  return {
    write(line: string) {
      pending.push(line);
      bytes += line.length;
      if (bytes >= LOG_BUFFER_BYTES) handOver();
      else if (!timer) {
        timer = setTimeout(handOver, delayMs);
        timer.unref();
      }
    },
    flush(cb?: (err?: Error) => void) {
      handOver();
      cb?.();
    },
    flushSync() {
      handOver();
      dest.flushSync();
    },
  };
}

/** A logger that writes nothing (tests). */
export const silentLogger: Logger = pino({ level: 'silent' });
