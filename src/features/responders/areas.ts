/**
 * Areas (issue 19, config `areas`): which area a host is in, by its name (host patterns) and by
 * its Zabbix host groups. Host groups come from a cache the scheduler fills off the message
 * path (`HostGroupCache.maybeRefresh` on the one-second tick asks Zabbix at most every
 * `refreshEvery` for the hosts of open incidents it does not know yet, or knows for longer than
 * `ttlMs`); the reminder round only reads the cache. A host whose groups are not known yet is in
 * the areas its name matches.
 */
import type { AreaConfig } from '../../config/ownership-schema';
import type { Logger } from '../../core/log';
import type { IncidentStore } from '../../store/store';
import type { ZabbixApi } from '../../zabbix/client';

/** Patterns see the first 1,000 characters of a host name (like the runbook's, src/config/regex-safety.ts). */
export const MATCH_CHARS = 1000;

export type GroupsOf = (host: string) => readonly string[] | undefined;

export class Areas {
  constructor(
    readonly list: readonly AreaConfig[],
    private readonly groupsOf: GroupsOf = () => undefined,
  ) {}

  byName(name: string): AreaConfig | undefined {
    const n = name.trim().toLowerCase();
    return this.list.find((a) => a.name.toLowerCase() === n);
  }

  /** The areas a host is in, in the config's order. */
  of(host: string): AreaConfig[] {
    if (this.list.length === 0) return [];
    const name = host.slice(0, MATCH_CHARS);
    const groups = (this.groupsOf(host) ?? []).map((g) => g.toLowerCase());
    return this.list.filter((a) => a.hosts.some((re) => re.test(name)) || a.hostGroups.some((g) => groups.includes(g.toLowerCase())));
  }

  /** Whether any area needs Zabbix host groups. */
  get usesHostGroups(): boolean {
    return this.list.some((a) => a.hostGroups.length > 0);
  }
}

export interface HostGroupCacheDeps {
  zabbix: Pick<ZabbixApi, 'hostGroups'>;
  store: Pick<IncidentStore, 'openSummaries'>;
  log: Logger;
  /** How often the tick may ask Zabbix (default 30 s). */
  refreshEvery?: number;
  /** How long a host's groups are trusted (default 10 min). */
  ttlMs?: number;
}

export class HostGroupCache {
  private readonly groups = new Map<string, { groups: string[]; at: number }>();
  private running = false;
  private nextAt = 0;
  lastError: string | undefined;

  constructor(private readonly deps: HostGroupCacheDeps) {}

  readonly get: GroupsOf = (host) => this.groups.get(host.toLowerCase())?.groups;

  /** A new host showed up (an alert): look it up at the next tick. */
  soon(): void {
    this.nextAt = 0;
  }

  /** For the scheduler's tick: refreshes in the background when due; never waits. */
  maybeRefresh(now: number): void {
    if (this.running || now < this.nextAt) return;
    this.nextAt = now + (this.deps.refreshEvery ?? 30_000);
    void this.refresh(now);
  }

  /** Looks up the hosts of open incidents whose groups are unknown or stale. */
  async refresh(now: number): Promise<void> {
    if (this.running || !this.deps.zabbix.hostGroups) return;
    this.running = true;
    try {
      const ttl = this.deps.ttlMs ?? 600_000;
      const hosts = [...new Set(this.deps.store.openSummaries().map((i) => i.host))].filter((h) => {
        const c = this.groups.get(h.toLowerCase());
        return !c || now - c.at > ttl;
      });
      if (hosts.length === 0) return;
      const found = await this.deps.zabbix.hostGroups(hosts.slice(0, 500));
      for (const h of hosts.slice(0, 500)) this.groups.set(h.toLowerCase(), { groups: found.get(h) ?? [], at: now });
      this.lastError = undefined;
    } catch (err) {
      this.lastError = (err as Error).message;
      this.deps.log.warn({ err: this.lastError }, 'could not read host groups from Zabbix (areas by host group)');
    } finally {
      this.running = false;
    }
  }
}
