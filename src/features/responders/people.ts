/**
 * The realm's people, cached for what must not wait on Zulip: the reminder round (a tick) turns
 * `escalation.people` emails into real mentions, and a Zabbix acknowledgement's user into a
 * Zulip person. Refreshed off the message path by the scheduler's tick.
 */
import type { Logger } from '../../core/log';
import { outside } from '../../core/text';
import type { ZulipApi, ZulipUser } from '../../zulip/api';

export class PeopleDirectory {
  private users: ZulipUser[] = [];
  private loadedAt: number | undefined;
  private running = false;
  private nextAt = 0;

  constructor(
    private readonly api: Pick<ZulipApi, 'users'>,
    private readonly log: Logger,
    private readonly refreshEvery = 600_000,
  ) {}

  byEmail(email: string): ZulipUser | undefined {
    const e = email.toLowerCase();
    return this.users.find((u) => u.email.toLowerCase() === e);
  }

  /** `@**Name|id**` (or `@_**Name|id**`) for the person with that email; undefined when unknown. */
  mentionOf = (email: string, silent: boolean): string | undefined => {
    const u = this.byEmail(email);
    return u ? `@${silent ? '_' : ''}**${outside(u.fullName, { max: 100 })}|${u.id}**` : undefined;
  };

  get loaded(): boolean {
    return this.loadedAt !== undefined;
  }

  maybeRefresh(now: number): void {
    if (this.running || now < this.nextAt) return;
    this.nextAt = now + (this.loaded ? this.refreshEvery : 30_000);
    void this.refresh(now);
  }

  async refresh(now: number): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      this.users = await this.api.users();
      this.loadedAt = now;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not read the Zulip users (mentions of escalation.people)');
    } finally {
      this.running = false;
    }
  }
}
