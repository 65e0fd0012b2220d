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
}
