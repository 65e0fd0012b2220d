/** The scheduler adapter: the only importer of node-cron. */
import cron from 'node-cron';

export interface Ticker {
  /** Calls fn on the schedule until stop(); a run still busy makes the next one skip. */
  start(fn: () => void | Promise<void>): void;
  stop(): Promise<void>;
}

const FIELD_RANGES: Record<string, string> = {
  second: 'second (0-59)',
  minute: 'minute (0-59)',
  hour: 'hour (0-23)',
  dayOfMonth: 'day of the month (1-31)',
  month: 'month (1-12 or jan-dec)',
  dayOfWeek: 'weekday (0-7 or sun-sat)',
};

/**
 * Why node-cron would refuse this expression (one line), or undefined when it is valid: the
 * config's check, so that a bad `reports.weeklyCron` is a config error and not a crash at start.
 */
export function cronProblem(expression: string): string | undefined {
  if (cron.validate(expression)) return undefined;
  const fields = expression.trim().split(/\s+/).filter(Boolean).length;
  const shape = 'expected a cron expression like "0 9 * * 1" (minute hour day-of-month month weekday, optionally seconds first)';
  if (fields < 5 || fields > 6) return `${shape}; got ${fields} field${fields === 1 ? '' : 's'} in ${JSON.stringify(expression)}`;
  let detail: string | undefined;
  try {
    const first = cron.validateDetailed(expression).errors[0];
    if (first) detail = first.value !== undefined ? `${JSON.stringify(first.value)} is not a valid ${FIELD_RANGES[first.field] ?? first.field}` : first.message;
  } catch {
    detail = undefined;
  }
  return `${shape}; ${detail ?? `node-cron refuses ${JSON.stringify(expression)}`}`;
}

/** A node-cron schedule; the default fires every second. */
export function cronTicker(expression = '* * * * * *', timezone?: string): Ticker {
  let task: ReturnType<typeof cron.schedule> | undefined;
  return {
    start(fn) {
      task = cron.schedule(expression, () => fn(), { noOverlap: true, ...(timezone ? { timezone } : {}) });
    },
    async stop() {
      await task?.stop();
      await task?.destroy();
    },
  };
}
