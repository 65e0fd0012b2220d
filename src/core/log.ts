import { writeSync } from 'node:fs';
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

/**
 * JSON lines in production; readable lines when `pretty` (the composition root passes stdout.isTTY).
 * `deferred` (the default when writing to stdout): lines are made after the work that logged
 * them (see deferCalls).
 */
export function createLogger(level: string, destination?: pino.DestinationStream, pretty = false, deferred = destination === undefined && !pretty): Logger {
  const options: pino.LoggerOptions = { level, base: { name: 'zulip-sre-bot' }, formatters: { log: (o) => redactSecrets(o) } };
  if (pretty && !destination) return pino({ ...options, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,name' } } });
  // Stdout written asynchronously (the write itself off the main thread, lines kept in order,
  // flushed at exit): a slow log file or pipe does not hold up a reply. A line logged just before
  // a SIGKILL may be lost.
  // Deferred calls are set up first: at exit their lines are made before what has gathered is written.
  const defer = deferred ? deferCalls() : {};
  const dest = destination ?? soonAfter(pino.destination({ dest: 1, sync: false }), LOG_DELAY_MS, (text) => writeSync(1, text));
  return pino({ ...options, ...defer }, dest);
}

/**
 * A log call is turned into its line after the work that made it, not during: at rest the
 * serialisation of an alert's line (its fields, the secret filter, the JSON) was a twentieth of a
 * millisecond before its reply could leave. Each call is queued with the time it was made; the
 * queue runs on the event loop's next turn (after a reply's request is written), in order, each
 * line stamped with its call's time. At exit the queue runs first (a fatal line before
 * process.exit is written). A caller that changes an object after logging it would see the
 * change logged: the bot logs literals built for the call.
 */
function deferCalls(): Pick<pino.LoggerOptions, 'hooks' | 'timestamp'> {
  let queue: { at: number; run: () => void }[] = [];
  let stamp: number | undefined;
  const drain = (): void => {
    const calls = queue;
    queue = [];
    for (const c of calls) {
      stamp = c.at;
      try {
        c.run();
      } catch {
        // A line that cannot be made (a value whose toJSON throws) is left out, not the rest with it.
      } finally {
        stamp = undefined;
      }
    }
  };
  process.on('exit', drain);
  return {
    timestamp: () => `,"time":${stamp ?? Date.now()}`,
    hooks: {
      logMethod(this: pino.Logger, args: Parameters<pino.LogFn>, method: pino.LogFn) {
        queue.push({ at: Date.now(), run: method.bind(this, ...args) });
        if (queue.length === 1) setImmediate(drain);
      },
    },
  };
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
export function soonAfter(dest: Destination, delayMs: number, writeNow?: (text: string) => void): Destination & { flush(cb?: (err?: Error) => void): void } {
  let pending: string[] = [];
  let bytes = 0;
  let timer: NodeJS.Timeout | undefined;
  /** What has gathered, taken out (the timer no longer needed). */
  const take = (): string => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const text = pending.length === 1 ? (pending[0] as string) : pending.join('');
    pending = [];
    bytes = 0;
    return text;
  };
  const handOver = (): void => {
    const text = take();
    if (text) dest.write(text);
  };
  process.on('exit', () => {
    // What is on its way first, then what gathered, written here and now: handed to `dest` it
    // would start an asynchronous write that an exiting process may never finish.
    dest.flushSync();
    const text = take();
    if (!text) return;
    if (writeNow) writeNow(text);
    else {
      dest.write(text);
      dest.flushSync();
    }
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
