/**
 * A standalone fake of Zabbix 6.0's JSON-RPC API (`/api_jsonrpc.php`) for process-level tests.
 *
 * A plain `node:http` server on 127.0.0.1 (random port). It speaks enough of the API for the
 * bot's adapter (src/zabbix/client.ts), answering the way Zabbix 6.0 does where the adapter could
 * notice the difference:
 * - `apiinfo.version` answers "6.0.30" and must be called without `auth`;
 * - every other method wants the API token in the body's `auth` field (6.0 style; no Bearer);
 * - numbers come back as strings (ids, clock, severity, acknowledged, trigger value);
 * - unknown methods get -32601, a bad token -32602 "Not authorized.", unknown event ids -32500.
 *
 * Problems live in memory: `addProblem` opens one (a PROBLEM event on a trigger), `resolveProblem`
 * closes it (sets `r_eventid`), `event.acknowledge` adds acknowledgements. Fault switch: with
 * `hang = true` every request (including `apiinfo.version`) is accepted and never answered;
 * setting it back to false answers new requests (requests that hung stay hung until `stop()`).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { listenOnLoopback } from './loopback';

export interface FakeZabbixProblem {
  eventId: string;
  triggerId: string;
  /** Technical host name. */
  host: string;
  /** Visible host name; defaults to `host`. */
  hostName?: string;
  hostId?: string;
  /** Trigger / problem name. */
  name: string;
  /** 0 (not classified) … 5 (disaster), as Zabbix numbers severities. */
  severity: number;
  /** Unix seconds; defaults to now. */
  clock?: number;
  /** Items behind the trigger (trigger.get selectItems); defaults to none. */
  itemIds?: string[];
  /** Suppressed problems are left out of problem.get. */
  suppressed?: boolean;
}

export interface FakeZabbixAckRecord {
  eventIds: string[];
  message: string;
  action: number;
}

interface WireAck {
  acknowledgeid: string;
  userid: string;
  clock: string;
  message: string;
  action: string;
  username: string;
  name: string;
  surname: string;
}

interface StoredEvent {
  eventId: string;
  triggerId: string;
  host: string;
  hostName: string;
  hostId: string;
  name: string;
  severity: number;
  clock: number;
  itemIds: string[];
  suppressed: boolean;
  acknowledged: boolean;
  /** '0' while the problem is open. */
  rEventId: string;
  acknowledges: WireAck[];
}

interface Rpc {
  jsonrpc?: unknown;
  method?: unknown;
  params?: unknown;
  auth?: unknown;
  id?: unknown;
}

export interface FakeZabbixOptions {
  /** The API token expected in the body's `auth` field. Default 'zabbix-test-token'. */
  token?: string;
  /** What `apiinfo.version` answers. Default '6.0.30'. */
  version?: string;
  /** The user the token belongs to (shown in acknowledgements made through the API). Default 'Admin'. */
  apiUser?: string;
}

class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data: string,
  ) {
    super(message);
  }
}

const asIds = (v: unknown): string[] | undefined => (v === undefined || v === null ? undefined : (Array.isArray(v) ? v : [v]).map((x) => String(x)));
const nowSec = (): number => Math.floor(Date.now() / 1000);

export class FakeZabbix {
  readonly token: string;
  readonly version: string;
  readonly apiUser: string;
  /** Method names of every request seen, in order (hung ones included). */
  readonly calls: string[] = [];
  /** Every event.acknowledge call that was answered successfully. */
  readonly acks: FakeZabbixAckRecord[] = [];
  /** Items passed to task.create (check now), in order. */
  readonly tasks: string[] = [];
  /** Requests accepted while hanging and never answered. */
  hungRequests = 0;
  url = '';

  private hanging = false;
  private readonly events = new Map<string, StoredEvent>();
  private readonly parked = new Set<http.ServerResponse>();
  private nextEventId = 900_000;
  private nextAckId = 1;
  private nextTaskId = 1;
  private stopped = false;

  private constructor(
    private readonly server: http.Server,
    opts: FakeZabbixOptions,
  ) {
    this.token = opts.token ?? 'zabbix-test-token';
    this.version = opts.version ?? '6.0.30';
    this.apiUser = opts.apiUser ?? 'Admin';
    server.on('request', (req, res) => this.handle(req, res));
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  static async start(opts: FakeZabbixOptions = {}): Promise<FakeZabbix> {
    return new FakeZabbix(await listenOnLoopback(), opts);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const res of this.parked) res.destroy();
    this.parked.clear();
    this.server.closeAllConnections();
    await closed;
  }

  /** While true, every request is accepted and never answered. */
  get hang(): boolean {
    return this.hanging;
  }

  set hang(on: boolean) {
    this.hanging = on;
  }

  // ----- state -------------------------------------------------------------------------------

  /** Opens a problem: a PROBLEM event on its trigger, unacknowledged. */
  addProblem(p: FakeZabbixProblem): void {
    if (this.events.has(p.eventId)) throw new Error(`FakeZabbix: event ${p.eventId} exists already`);
    this.events.set(p.eventId, {
      eventId: p.eventId,
      triggerId: p.triggerId,
      host: p.host,
      hostName: p.hostName ?? p.host,
      hostId: p.hostId ?? `1${p.triggerId}`,
      name: p.name,
      severity: p.severity,
      clock: p.clock ?? nowSec(),
      itemIds: p.itemIds ?? [],
      suppressed: p.suppressed ?? false,
      acknowledged: false,
      rEventId: '0',
      acknowledges: [],
    });
  }

  /** Closes a problem as a recovery event would; returns the recovery event id. */
  resolveProblem(eventId: string): string {
    const e = this.eventOrThrow(eventId);
    e.rEventId = String(this.nextEventId++);
    return e.rEventId;
  }

  /** An acknowledgement made by someone in the Zabbix frontend (not recorded in `acks`). */
  acknowledgeInZabbix(eventId: string, message: string, user = 'Admin', action = 6): void {
    this.applyAck(this.eventOrThrow(eventId), message, action, user);
  }

  /** Zabbix's view of an event, for assertions. */
  event(eventId: string): { acknowledged: boolean; resolved: boolean; messages: string[] } | undefined {
    const e = this.events.get(eventId);
    return e && { acknowledged: e.acknowledged, resolved: e.rEventId !== '0', messages: e.acknowledges.map((a) => a.message) };
  }

  /** The event.acknowledge calls that named this event. */
  acksFor(eventId: string): FakeZabbixAckRecord[] {
    return this.acks.filter((a) => a.eventIds.includes(eventId));
  }

  private eventOrThrow(eventId: string): StoredEvent {
    const e = this.events.get(eventId);
    if (!e) throw new Error(`FakeZabbix: no event ${eventId}`);
    return e;
  }

  private applyAck(e: StoredEvent, message: string, action: number, user: string): void {
    if ((action & 2) === 2) e.acknowledged = true;
    if ((action & 16) === 16) e.acknowledged = false;
    e.acknowledges.push({
      acknowledgeid: String(this.nextAckId++),
      userid: '1',
      clock: String(nowSec()),
      message: (action & 4) === 4 ? message : '',
      action: String(action),
      username: user,
      name: '',
      surname: '',
    });
  }

  // ----- HTTP --------------------------------------------------------------------------------

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let rpc: Rpc;
      try {
        rpc = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Rpc;
      } catch {
        this.calls.push('(unparsable)');
        if (this.hanging) return this.park(res);
        return this.send(res, { jsonrpc: '2.0', error: { code: -32700, message: 'Parse error.', data: 'Invalid JSON. An error occurred on the server while parsing the JSON text.' }, id: null });
      }
      const method = typeof rpc.method === 'string' ? rpc.method : '(none)';
      this.calls.push(method);
      if (this.hanging) return this.park(res);
      if (req.method !== 'POST' || !(req.url ?? '').endsWith('/api_jsonrpc.php')) {
        res.writeHead(404, { 'content-type': 'text/html' }).end('<html>Not Found</html>');
        return;
      }
      try {
        this.send(res, { jsonrpc: '2.0', result: this.dispatch(method, rpc), id: rpc.id ?? null });
      } catch (err) {
        const e = err instanceof RpcError ? err : new RpcError(-32500, 'Application error.', String(err));
        this.send(res, { jsonrpc: '2.0', error: { code: e.code, message: e.message, data: e.data }, id: rpc.id ?? null });
      }
    });
  }

  private park(res: http.ServerResponse): void {
    this.hungRequests++;
    this.parked.add(res);
    res.on('close', () => this.parked.delete(res));
  }

  private send(res: http.ServerResponse, body: object): void {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  private dispatch(method: string, rpc: Rpc): unknown {
    const params = (rpc.params ?? {}) as Record<string, unknown>;
    if (method === 'apiinfo.version') {
      if (rpc.auth !== undefined) throw new RpcError(-32602, 'Invalid params.', 'The "apiinfo.version" method must be called without the "auth" parameter.');
      return this.version;
    }
    if (rpc.auth !== this.token) throw new RpcError(-32602, 'Invalid params.', 'Not authorized.');
    switch (method) {
      case 'event.get':
        return this.eventGet(params);
      case 'problem.get':
        return this.problemGet(params);
      case 'event.acknowledge':
        return this.eventAcknowledge(params);
      case 'trigger.get':
        return this.triggerGet(params);
      case 'task.create':
        return this.taskCreate(rpc.params);
      default:
        throw new RpcError(-32601, 'Method not found.', `Incorrect API "${method.split('.')[0] ?? method}".`);
    }
  }

  private problemFields(e: StoredEvent) {
    return {
      eventid: e.eventId,
      source: '0',
      object: '0',
      objectid: e.triggerId,
      clock: String(e.clock),
      ns: '0',
      name: e.name,
      severity: String(e.severity),
      acknowledged: e.acknowledged ? '1' : '0',
      suppressed: e.suppressed ? '1' : '0',
    };
  }

  private eventGet(params: Record<string, unknown>): unknown[] {
    const ids = asIds(params.eventids);
    const selected = ids ? ids.flatMap((id) => this.events.get(id) ?? []) : [...this.events.values()];
    return selected.map((e) => ({
      ...this.problemFields(e),
      value: '1',
      r_eventid: e.rEventId,
      hosts: [{ hostid: e.hostId, host: e.host, name: e.hostName }],
      acknowledges: e.acknowledges.map((a) => ({ ...a, eventid: e.eventId })),
    }));
  }

  private problemGet(params: Record<string, unknown>): unknown[] {
    const ids = asIds(params.eventids);
    const from = params.time_from === undefined ? undefined : Number(params.time_from);
    return [...this.events.values()]
      .filter((e) => e.rEventId === '0' && !e.suppressed)
      .filter((e) => !ids || ids.includes(e.eventId))
      .filter((e) => from === undefined || e.clock >= from)
      .map((e) => ({ ...this.problemFields(e), r_eventid: '0', r_clock: '0' }));
  }

  private eventAcknowledge(params: Record<string, unknown>): { eventids: number[] } {
    const ids = asIds(params.eventids);
    if (!ids || ids.length === 0) throw new RpcError(-32602, 'Invalid params.', 'Invalid parameter "/eventids": cannot be empty.');
    const action = Number(params.action ?? 0);
    if (!Number.isInteger(action) || action <= 0) throw new RpcError(-32602, 'Invalid params.', 'Invalid parameter "/action": value must be one of 1-255.');
    const message = typeof params.message === 'string' ? params.message : '';
    const events = ids.map((id) => this.events.get(id));
    if (events.some((e) => e === undefined)) throw new RpcError(-32500, 'Application error.', 'No permissions to referred object or it does not exist!');
    for (const e of events) this.applyAck(e as StoredEvent, message, action, this.apiUser);
    this.acks.push({ eventIds: ids, message, action });
    return { eventids: ids.map(Number) };
  }

  private triggerGet(params: Record<string, unknown>): unknown[] {
    const ids = asIds(params.triggerids);
    const byTrigger = new Map<string, StoredEvent[]>();
    for (const e of this.events.values()) byTrigger.set(e.triggerId, [...(byTrigger.get(e.triggerId) ?? []), e]);
    return [...byTrigger.entries()]
      .filter(([id]) => !ids || ids.includes(id))
      .map(([triggerid, evs]) => ({
        triggerid,
        description: evs.at(-1)?.name ?? '',
        value: evs.some((e) => e.rEventId === '0') ? '1' : '0',
        items: [...new Set(evs.flatMap((e) => e.itemIds))].map((itemid) => ({ itemid })),
      }));
  }

  private taskCreate(params: unknown): { taskids: string[] } {
    const list = (Array.isArray(params) ? params : [params]) as { type?: unknown; request?: { itemid?: unknown } }[];
    const taskids: string[] = [];
    for (const t of list) {
      if (Number(t.type) !== 6 || t.request?.itemid === undefined) throw new RpcError(-32602, 'Invalid params.', 'Invalid parameter "/1/type": value must be one of 1, 6.');
      this.tasks.push(String(t.request.itemid));
      taskids.push(String(this.nextTaskId++));
    }
    return { taskids };
  }
}
