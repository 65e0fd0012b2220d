/**
 * Prometheus metrics (prom-client: the only importer). Counters are moved by the parts of the
 * bot through small functions; gauges read the store and the poller when scraped.
 */
import client from 'prom-client';

export interface MetricSources {
  /** Counts kept by the bot itself. */
  botStats: () => { malformedAlerts: number; commands: number };
  /** Open incidents by class and state. */
  openIncidents: () => { incidentClass: string; status: string }[];
  outboxDepth: () => number;
  registrations: () => number;
  /** After-commit jobs waiting (src/pipeline/jobs.ts). */
  jobDepth?: () => number;
  /** When the Zulip event queue last answered a poll (ms since the epoch); undefined before the first. */
  lastPollAt?: () => number | undefined;
  /** With Zabbix configured: whether its sync works (src/features/zabbix-sync/sync.ts), and when it last did (ms). */
  zabbixSync?: () => { up: boolean; lastOkAt: number | undefined };
  /** With store.url (issue 22): this instance's role, and how many times it took the lease over. */
  ha?: () => { leader: boolean; takeovers: number };
  /** `sre_bot_build_info` labels. */
  build?: { version: string; node: string };
}

/** Buckets of ordinary requests (seconds): the request timeout is 15 s. */
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15];
/** Buckets of Zulip's long-poll (GET /events): it answers within 90 s (a heartbeat), the bot waits 105 s. */
const LONG_POLL_BUCKETS = [1, 5, 10, 30, 60, 80, 90, 95, 100, 110, 120];
/** The API methods that long-poll: timed apart from the others. */
const LONG_POLLS = new Set(['getEvents']);

export class Metrics {
  readonly registry = new client.Registry();
  readonly alerts = new client.Counter({ name: 'sre_bot_alerts_received_total', help: 'Zabbix alert posts handled, by class and outcome', labelNames: ['class', 'outcome'], registers: [this.registry] });
  readonly reminders = new client.Counter({ name: 'sre_bot_reminders_sent_total', help: 'Unacknowledged-incident reminders posted', registers: [this.registry] });
  readonly warnings = new client.Counter({ name: 'sre_bot_sla_warnings_total', help: '75% SLA deadline warnings posted', registers: [this.registry] });
  readonly breaches = new client.Counter({ name: 'sre_bot_sla_breaches_total', help: 'SLA deadlines breached', registers: [this.registry] });
  readonly timeToAck = new client.Histogram({
    name: 'sre_bot_time_to_acknowledge_seconds',
    help: 'Time from an incident opening to its acknowledgement',
    labelNames: ['class'],
    buckets: [60, 300, 900, 1800, 3600, 3 * 3600, 9 * 3600, 24 * 3600, 72 * 3600],
    registers: [this.registry],
  });
  readonly requests = new client.Histogram({
    name: 'sre_bot_requests_seconds',
    help: 'Duration of requests to Zulip and Zabbix by target, method (the API call, one per endpoint) and result; long-polls are in sre_bot_zulip_long_poll_seconds',
    labelNames: ['target', 'method', 'result'],
    buckets: REQUEST_BUCKETS,
    registers: [this.registry],
  });
  readonly longPolls = new client.Histogram({
    name: 'sre_bot_zulip_long_poll_seconds',
    help: 'Duration of Zulip event long-polls (GET /events; an idle queue answers within 90 s), by result',
    labelNames: ['result'],
    buckets: LONG_POLL_BUCKETS,
    registers: [this.registry],
  });
  readonly hookErrors = new client.Counter({ name: 'sre_bot_module_errors_total', help: 'Module hooks that threw (the other modules still ran), by module and hook', labelNames: ['module', 'hook'], registers: [this.registry] });
  readonly jobFailures = new client.Counter({ name: 'sre_bot_job_failures_total', help: 'After-commit job attempts that failed (retried later), by kind', labelNames: ['kind'], registers: [this.registry] });
  readonly requestErrors = new client.Counter({ name: 'sre_bot_request_errors_total', help: 'Failed requests to Zulip and Zabbix, by target and code', labelNames: ['target', 'method', 'code'], registers: [this.registry] });
  readonly gitlabFailures = new client.Counter({ name: 'sre_bot_gitlab_failures_total', help: 'Failed GitLab requests (retried), by reason: auth, project-not-found, network, timeout, rate-limited, api', labelNames: ['reason'], registers: [this.registry] });
  readonly gitlabSynced = new client.Counter({ name: 'sre_bot_gitlab_synced_total', help: 'What the GitLab sync did: issue-created, issue-linked, note-to-gitlab, note-to-zulip, issue-closed, issue-reopened', labelNames: ['what'], registers: [this.registry] });

  constructor(sources: MetricSources) {
    const registry = this.registry;
    new client.Gauge({
      name: 'sre_bot_incidents_open',
      help: 'Open incidents by class and state',
      labelNames: ['class', 'state'],
      registers: [registry],
      collect() {
        this.reset();
        for (const i of sources.openIncidents()) this.inc({ class: i.incidentClass, state: i.status });
      },
    });
    new client.Counter({
      name: 'sre_bot_alerts_malformed_total',
      help: 'Posts from alert senders that were not Zabbix alerts',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(sources.botStats().malformedAlerts);
      },
    });
    new client.Counter({
      name: 'sre_bot_commands_total',
      help: 'Commands handled',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(sources.botStats().commands);
      },
    });
    new client.Gauge({
      name: 'sre_bot_jobs_queued',
      help: 'After-commit jobs waiting or being retried (Zabbix acknowledgements, history reads)',
      registers: [registry],
      collect() {
        this.set(sources.jobDepth?.() ?? 0);
      },
    });
    new client.Gauge({
      name: 'sre_bot_outbox_depth',
      help: 'Messages and reactions waiting to be sent to Zulip',
      registers: [registry],
      collect() {
        this.set(sources.outboxDepth());
      },
    });
    new client.Counter({
      name: 'sre_bot_queue_registrations_total',
      help: 'Zulip event queue registrations since start (more than one: expired queues or reconnects)',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(sources.registrations());
      },
    });
    // Deprecated: the same number under its old name (a gauge), for dashboards made before
    // sre_bot_queue_registrations_total; to be removed in the next release.
    new client.Gauge({
      name: 'sre_bot_queue_registrations',
      help: 'DEPRECATED: use sre_bot_queue_registrations_total (removed in the next release)',
      registers: [registry],
      collect() {
        this.set(sources.registrations());
      },
    });
    new client.Gauge({
      name: 'sre_bot_last_poll_timestamp_seconds',
      help: 'When the Zulip event queue last answered a poll (Unix time; 0: not yet): alert when it is old',
      registers: [registry],
      collect() {
        const at = sources.lastPollAt?.();
        this.set(at === undefined ? 0 : at / 1000);
      },
    });
    if (sources.zabbixSync) {
      const sync = sources.zabbixSync;
      new client.Gauge({
        name: 'sre_bot_zabbix_sync_up',
        help: '1 while the Zabbix sync works, 0 while it fails (only with Zabbix configured)',
        registers: [registry],
        collect() {
          this.set(sync().up ? 1 : 0);
        },
      });
      new client.Gauge({
        name: 'sre_bot_zabbix_last_sync_timestamp_seconds',
        help: 'When the Zabbix sync last succeeded (Unix time; 0: not since start)',
        registers: [registry],
        collect() {
          const at = sync().lastOkAt;
          this.set(at === undefined ? 0 : at / 1000);
        },
      });
    }
    if (sources.ha) {
      const ha = sources.ha;
      new client.Gauge({
        name: 'sre_bot_ha_leader',
        help: '1 while this instance holds the lease (polls, sends, ticks), 0 while it waits as a hot standby (only with store.url)',
        registers: [registry],
        collect() {
          this.set(ha().leader ? 1 : 0);
        },
      });
      new client.Counter({
        name: 'sre_bot_ha_takeovers_total',
        help: 'Times this instance took the lease over (only with store.url)',
        registers: [registry],
        collect() {
          this.reset();
          this.inc(ha().takeovers);
        },
      });
    }
    const build = sources.build ?? { version: 'unknown', node: process.version };
    new client.Gauge({ name: 'sre_bot_build_info', help: 'Always 1; the labels say the bot\'s version and the Node.js version', labelNames: ['version', 'node'], registers: [registry] }).set(build, 1);
    // process_cpu_seconds_total, process_resident_memory_bytes, process_start_time_seconds, nodejs_* …
    client.collectDefaultMetrics({ register: registry });
  }

  /** Times a call and counts its failures; the error passes through. Long-polls go to their own histogram. */
  async timed<T>(target: 'zulip' | 'zabbix', method: string, fn: () => Promise<T>): Promise<T> {
    const end = target === 'zulip' && LONG_POLLS.has(method) ? this.longPolls.startTimer() : this.requests.startTimer({ target, method });
    try {
      const v = await fn();
      end({ result: 'ok' });
      return v;
    } catch (err) {
      end({ result: 'error' });
      const e = err as { code?: unknown; kind?: unknown };
      this.requestErrors.inc({ target, method, code: String(e.code ?? e.kind ?? 'error') });
      throw err;
    }
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** Wraps every method of an API object so each call is timed and its failures counted. */
export function instrument<T extends object>(api: T, target: 'zulip' | 'zabbix', metrics: Metrics): T {
  return new Proxy(api, {
    get(obj, prop, receiver) {
      const v = Reflect.get(obj, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => metrics.timed(target, String(prop), () => (v as (...a: unknown[]) => Promise<unknown>).apply(obj, args));
    },
  });
}
