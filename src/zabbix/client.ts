/**
 * The Zabbix adapter: JSON-RPC over axios, the only importer of axios. Detects the API version
 * and authenticates as that version wants (6.0: token in the body; 6.4+: Bearer header; 7.2+
 * rejects the body field), validates answers with zod (numbers arrive as strings), times out,
 * retries transient failures with backoff, and names the method in every error.
 */
import axios, { type AxiosInstance } from 'axios';
import { z } from 'zod';
import { backoffDelay, sleep } from '../core/async';
import type { Severity } from '../domain/classes';
import { ZabbixError } from './errors';

export { ZabbixError };

export const SEVERITY_BY_NUMBER: readonly Severity[] = ['Not classified', 'Information', 'Warning', 'Average', 'High', 'Disaster'];

export interface ZabbixAck {
  clock: number;
  message: string;
  user: string;
  /** The acknowledge bit of the action. */
  acknowledged: boolean;
}

export interface ZabbixEvent {
  eventId: string;
  triggerId: string;
  name: string;
  clock: number;
  severity: Severity;
  acknowledged: boolean;
  /** Suppressed by a maintenance (or by hand): Zabbix keeps quiet about it. Absent when not asked for. */
  suppressed?: boolean;
  /** True when Zabbix has a recovery event for it. */
  resolved: boolean;
  hosts: { hostId: string; host: string; name: string }[];
  acknowledges: ZabbixAck[];
}

export interface ZabbixProblem {
  eventId: string;
  triggerId: string;
  name: string;
  clock: number;
  severity: Severity;
  acknowledged: boolean;
  /** Suppressed by a maintenance (or by hand). Absent when not asked for. */
  suppressed?: boolean;
}

/** Zabbix as the bot uses it. */
export interface ZabbixApi {
  version(): Promise<string>;
  /** Unresolved problems (trigger problems) that are not suppressed (maintenance), optionally only since `sinceSec`. */
  problems(opts?: { sinceSec?: number; eventIds?: string[] }): Promise<ZabbixProblem[]>;
  events(eventIds: readonly string[]): Promise<ZabbixEvent[]>;
  /** Acknowledges with a message (action 6). */
  acknowledge(eventIds: readonly string[], message: string): Promise<void>;
  /** Items behind triggers, for "execute now". */
  triggerItems(triggerIds: readonly string[]): Promise<{ triggerId: string; itemIds: string[]; value: 0 | 1; description: string }[]>;
  /** "Execute now" (task.create check-now) for items; returns the task ids. */
  checkNow(itemIds: readonly string[]): Promise<string[]>;
  // Ownership (issue 19): areas by host group, the first responder's Zabbix user group.
  /** Host groups of hosts named by technical or visible name, by the name as asked (hosts Zabbix does not know are left out). */
  hostGroups?(hosts: readonly string[]): Promise<Map<string, string[]>>;
  /** The user group with that exact name and its members' user ids; undefined when there is none. */
  userGroup?(name: string): Promise<ZabbixUserGroup | undefined>;
  /** Every user with the e-mail addresses of their e-mail media. */
  userDirectory?(): Promise<ZabbixUser[]>;
  /** Makes `userIds` the group's members (usergroup.update replaces the list). */
  setUserGroupMembers?(groupId: string, userIds: readonly string[]): Promise<void>;
}

export interface ZabbixUserGroup {
  groupId: string;
  name: string;
  userIds: string[];
}

export interface ZabbixUser {
  userId: string;
  username: string;
  /** Name and surname, when set. */
  fullName: string;
  /** Send-to addresses of the user's media of an e-mail media type. */
  emails: string[];
}

export interface ZabbixClientOptions {
  url: string;
  token: string;
  timeoutMs?: number;
  retries?: number;
  random?: () => number;
  /** Base delay of the retry backoff. */
  backoffMs?: number;
}

const num = z.union([z.string(), z.number()]).transform((v) => Number(v));
const str = z.union([z.string(), z.number()]).transform((v) => String(v));
const rpcAnswer = z.union([
  z.object({ jsonrpc: z.literal('2.0'), result: z.unknown(), id: z.unknown().optional() }),
  z.object({ jsonrpc: z.literal('2.0'), error: z.object({ code: z.number(), message: z.string(), data: z.string().optional() }), id: z.unknown().optional() }),
]);
const ackWire = z.object({ clock: num, message: z.string().default(''), action: num.default(0), username: z.string().optional(), name: z.string().optional(), surname: z.string().optional(), userid: str.optional() });
const problemWire = z.object({ eventid: str, objectid: str, name: z.string(), clock: num, severity: num, acknowledged: str, suppressed: str.optional() });
const eventWire = problemWire.extend({
  r_eventid: str.default('0'),
  hosts: z.array(z.object({ hostid: str, host: z.string(), name: z.string().optional() })).default([]),
  acknowledges: z.array(ackWire).default([]),
});
const triggerWire = z.object({ triggerid: str, value: num, description: z.string(), items: z.array(z.object({ itemid: str })).default([]) });

function versionAtLeast(v: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = v.split('.').map(Number);
  return a > major || (a === major && b >= minor);
}

/** The fields problem.get and event.get share. */
function toProblem(p: z.output<typeof problemWire>): ZabbixProblem {
  return {
    eventId: p.eventid,
    triggerId: p.objectid,
    name: p.name,
    clock: p.clock,
    severity: SEVERITY_BY_NUMBER[p.severity] ?? 'Not classified',
    acknowledged: p.acknowledged === '1',
    ...(p.suppressed !== undefined ? { suppressed: p.suppressed === '1' } : {}),
  };
}

function toAck(a: z.output<typeof ackWire>): ZabbixAck {
  const who = a.username ?? ([a.name, a.surname].filter(Boolean).join(' ') || (a.userid ? `user ${a.userid}` : 'someone'));
  return { clock: a.clock, message: a.message, user: who, acknowledged: (a.action & 2) === 2 };
}

export class ZabbixClient implements ZabbixApi {
  private readonly http: AxiosInstance;
  private apiVersion: string | undefined;
  private nextId = 1;

  constructor(private readonly opts: ZabbixClientOptions) {
    const base = opts.url.replace(/\/+$/, '');
    this.http = axios.create({
      baseURL: base.endsWith('api_jsonrpc.php') ? base : `${base}/api_jsonrpc.php`,
      timeout: opts.timeoutMs ?? 10_000,
      headers: { 'Content-Type': 'application/json-rpc' },
      validateStatus: () => true,
    });
  }

  async version(): Promise<string> {
    this.apiVersion ??= z.string().parse(await this.raw('apiinfo.version', {}, false));
    return this.apiVersion;
  }

  /** One JSON-RPC call with retries on transient failures. */
  private async call(method: string, params: Record<string, unknown>): Promise<unknown> {
    await this.version();
    return this.raw(method, params, true);
  }

  private async raw(method: string, params: Record<string, unknown>, auth: boolean): Promise<unknown> {
    const retries = this.opts.retries ?? 2;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once(method, params, auth);
      } catch (err) {
        const e = err instanceof ZabbixError ? err : new ZabbixError(method, String(err));
        if (!e.transient || attempt >= retries) throw e;
        await sleep(backoffDelay(attempt, this.opts.random ?? Math.random, this.opts.backoffMs ?? 300, 5_000));
      }
    }
  }

  private async once(method: string, params: Record<string, unknown>, auth: boolean): Promise<unknown> {
    const bearer = auth && this.apiVersion !== undefined && versionAtLeast(this.apiVersion, 6, 4);
    const body: Record<string, unknown> = { jsonrpc: '2.0', method, params, id: this.nextId++ };
    if (auth && !bearer) body.auth = this.opts.token;
    let res;
    try {
      res = await this.http.post('', body, bearer ? { headers: { Authorization: `Bearer ${this.opts.token}` } } : {});
    } catch (err) {
      const e = err as { code?: string; message?: string };
      const what = e.code === 'ECONNABORTED' || e.code === 'ETIMEDOUT' ? `no answer within ${this.opts.timeoutMs ?? 10_000} ms` : (e.message ?? String(err));
      throw new ZabbixError(method, what, undefined, true);
    }
    if (res.status >= 500 || res.status === 429) throw new ZabbixError(method, `HTTP ${res.status}`, undefined, true);
    if (res.status >= 400) throw new ZabbixError(method, `HTTP ${res.status}`);
    const parsed = rpcAnswer.safeParse(res.data);
    if (!parsed.success) throw new ZabbixError(method, `not a JSON-RPC answer (HTTP ${res.status})`, undefined, true);
    if ('error' in parsed.data) {
      const { code, message, data } = parsed.data.error;
      throw new ZabbixError(method, `${message}${data ? ` ${data}` : ''}`, code);
    }
    return parsed.data.result;
  }

  async problems(opts: { sinceSec?: number; eventIds?: string[] } = {}): Promise<ZabbixProblem[]> {
    const result = await this.call('problem.get', {
      output: ['eventid', 'objectid', 'name', 'clock', 'severity', 'acknowledged', 'suppressed'],
      source: 0,
      object: 0,
      recent: false,
      // Problems a maintenance suppresses are not news: Zabbix itself stays quiet about them.
      suppressed: false,
      ...(opts.sinceSec !== undefined ? { time_from: opts.sinceSec } : {}),
      ...(opts.eventIds ? { eventids: opts.eventIds } : {}),
    });
    return z.array(problemWire).parse(result).map(toProblem);
  }

  async events(eventIds: readonly string[]): Promise<ZabbixEvent[]> {
    if (eventIds.length === 0) return [];
    const result = await this.call('event.get', {
      eventids: eventIds,
      output: ['eventid', 'objectid', 'name', 'clock', 'severity', 'acknowledged', 'suppressed', 'r_eventid'],
      selectHosts: ['hostid', 'host', 'name'],
      select_acknowledges: 'extend',
    });
    return z.array(eventWire).parse(result).map((e) => ({
      ...toProblem(e),
      resolved: e.r_eventid !== '0',
      hosts: e.hosts.map((h) => ({ hostId: h.hostid, host: h.host, name: h.name ?? h.host })),
      acknowledges: e.acknowledges.map(toAck).sort((a, b) => a.clock - b.clock),
    }));
  }

  async acknowledge(eventIds: readonly string[], message: string): Promise<void> {
    if (eventIds.length === 0) return;
    await this.call('event.acknowledge', { eventids: eventIds, action: 6, message: message.slice(0, 2048) });
  }

  async triggerItems(triggerIds: readonly string[]): Promise<{ triggerId: string; itemIds: string[]; value: 0 | 1; description: string }[]> {
    if (triggerIds.length === 0) return [];
    const result = await this.call('trigger.get', { triggerids: triggerIds, output: ['triggerid', 'value', 'description'], selectItems: ['itemid'], expandDescription: true });
    return z.array(triggerWire).parse(result).map((t) => ({ triggerId: t.triggerid, itemIds: t.items.map((i) => i.itemid), value: t.value === 1 ? 1 : 0, description: t.description }));
  }

  async checkNow(itemIds: readonly string[]): Promise<string[]> {
    if (itemIds.length === 0) return [];
    const result = await this.call('task.create', itemIds.map((itemid) => ({ type: 6, request: { itemid } })) as unknown as Record<string, unknown>);
    return z.object({ taskids: z.array(str) }).parse(result).taskids;
  }

  // Ownership (issue 19). host.get's group selector is selectGroups up to 6.0, selectHostGroups from 6.2.
  async hostGroups(hosts: readonly string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (hosts.length === 0) return out;
    const v = await this.version();
    const selector = versionAtLeast(v, 6, 2) ? 'selectHostGroups' : 'selectGroups';
    const wire = z.array(z.object({ host: z.string(), name: z.string().optional(), groups: z.array(z.object({ name: z.string() })).optional(), hostgroups: z.array(z.object({ name: z.string() })).optional() }));
    const found = new Map<string, string[]>();
    for (const field of ['host', 'name'] as const) {
      const missing = hosts.filter((h) => !found.has(h.toLowerCase()));
      if (missing.length === 0) break;
      const result = wire.parse(await this.call('host.get', { output: ['host', 'name'], [selector]: ['name'], filter: { [field]: missing } }));
      for (const h of result) {
        const groups = (h.hostgroups ?? h.groups ?? []).map((g) => g.name);
        for (const key of [h.host, h.name ?? h.host]) if (!found.has(key.toLowerCase())) found.set(key.toLowerCase(), groups);
      }
    }
    for (const h of hosts) {
      const g = found.get(h.toLowerCase());
      if (g) out.set(h, g);
    }
    return out;
  }

  async userGroup(name: string): Promise<ZabbixUserGroup | undefined> {
    const result = z
      .array(z.object({ usrgrpid: str, name: z.string(), users: z.array(z.object({ userid: str })).default([]) }))
      .parse(await this.call('usergroup.get', { output: ['usrgrpid', 'name'], filter: { name }, selectUsers: ['userid'] }));
    const g = result.find((x) => x.name === name) ?? result[0];
    return g ? { groupId: g.usrgrpid, name: g.name, userIds: g.users.map((u) => u.userid) } : undefined;
  }

  async userDirectory(): Promise<ZabbixUser[]> {
    const emailTypes = new Set(
      z
        .array(z.object({ mediatypeid: str }))
        .parse(await this.call('mediatype.get', { output: ['mediatypeid'], filter: { type: 0 } }))
        .map((m) => m.mediatypeid),
    );
    const sendto = z.union([z.string(), z.array(z.string())]);
    const users = z
      .array(z.object({ userid: str, username: z.string(), name: z.string().default(''), surname: z.string().default(''), medias: z.array(z.object({ mediatypeid: str, sendto })).default([]) }))
      .parse(await this.call('user.get', { output: ['userid', 'username', 'name', 'surname'], selectMedias: ['mediatypeid', 'sendto'] }));
    return users.map((u) => ({
      userId: u.userid,
      username: u.username,
      fullName: [u.name, u.surname].filter(Boolean).join(' '),
      emails: u.medias.filter((m) => emailTypes.has(m.mediatypeid)).flatMap((m) => (Array.isArray(m.sendto) ? m.sendto : [m.sendto])),
    }));
  }

  async setUserGroupMembers(groupId: string, userIds: readonly string[]): Promise<void> {
    await this.call('usergroup.update', { usrgrpid: groupId, users: userIds.map((userid) => ({ userid })) });
  }
}
