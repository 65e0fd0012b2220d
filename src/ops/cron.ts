/** The scheduler adapter: the only importer of node-cron. */
import cron from 'node-cron';

export interface Ticker {
  /** Calls fn on the schedule until stop(); a run still busy makes the next one skip. */
  start(fn: () => void | Promise<void>): void;
  stop(): Promise<void>;
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
