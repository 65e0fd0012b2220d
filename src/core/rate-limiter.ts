import type { Clock } from './clock';

/**
 * A token bucket: `perMinute` requests a minute, in bursts of at most `burst`. Pure arithmetic
 * over the clock it is given; callers sleep for what `delayFor` says.
 */
export class RateLimiter {
  private tokens: number;
  private last: number;
  private pausedUntil = 0;

  constructor(
    private readonly clock: Clock,
    private readonly perMinute: number,
    private readonly burst = Math.max(1, Math.min(perMinute, 20)),
  ) {
    this.tokens = this.burst;
    this.last = clock.now();
  }

  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.perMinute) / 60_000);
    this.last = now;
  }

  /**
   * Milliseconds to wait before one request may go; 0 when one may go now. `reserve`: tokens that
   * must be left after it (kept for requests that matter more: the outbox keeps a few for replies).
   */
  delayFor(reserve = 0): number {
    this.refill();
    const now = this.clock.now();
    if (now < this.pausedUntil) return this.pausedUntil - now;
    const need = 1 + Math.min(reserve, this.burst - 1);
    if (this.tokens >= need) return 0;
    return Math.ceil(((need - this.tokens) * 60_000) / this.perMinute);
  }

  /** Spends one token (call when a request goes). */
  take(): void {
    this.refill();
    this.tokens -= 1;
  }

  /** The server said to wait (HTTP 429 retry-after). */
  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.clock.now() + ms);
  }
}
