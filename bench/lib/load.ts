/** Alert workloads (seeded) and a drift-free pacer. */
import { performance } from 'node:perf_hooks';
import { SEVERITY_CLASS, type Severity } from '../../src/domain/classes';
import { Rng } from '../../test/support/prng';
import type { AlertSpec } from './world';
import { sleep } from './bot-runner';

export interface Template {
  severity: Severity;
  trigger: string;
  item: string;
}

/** What fires when a hypervisor dies: its guests unreachable, services down, pressure on the rest. */
export const TEMPLATES: readonly Template[] = [
  { severity: 'Disaster', trigger: 'Host is unreachable for 5 minutes', item: 'ICMP ping is Down (0)' },
  { severity: 'High', trigger: 'Zabbix agent is not available (for 3m)', item: 'Zabbix agent availability is not available (2)' },
  { severity: 'High', trigger: 'HTTPS service is down', item: 'HTTPS service is Down (0)' },
  { severity: 'High', trigger: 'PostgreSQL is not running', item: 'PostgreSQL status is Down (0)' },
  { severity: 'Average', trigger: 'High CPU utilization (over 90% for 5m)', item: 'CPU utilization is 97.2 %' },
  { severity: 'Average', trigger: 'Free disk space is less than 10% on /', item: 'Free disk space on / is 7.9 %' },
  { severity: 'Warning', trigger: 'Free disk space is less than 20% on /var', item: 'Free disk space on /var is 17 %' },
  { severity: 'Warning', trigger: 'Load average is too high (per CPU load over 1.5 for 5m)', item: 'Load average (1m avg) is 11.4' },
  { severity: 'Warning', trigger: 'High memory utilization (>90% for 5m)', item: 'Memory utilization is 93.1 %' },
  { severity: 'Information', trigger: 'Host has been restarted (uptime < 10m)', item: 'System uptime is 00:02:11' },
  { severity: 'Information', trigger: 'Operating system description has changed', item: 'Operating system is Debian 12' },
  { severity: 'Not classified', trigger: 'Number of processes changed', item: 'Number of processes is 312' },
];

export function spec(host: string, t: Template, eventId: number, triggerId: number, status: 'PROBLEM' | 'OK' = 'PROBLEM'): AlertSpec {
  return { status, severity: t.severity, host, eventId: String(eventId), triggerId: String(triggerId), trigger: t.trigger, item: t.item };
}

/**
 * The storm: `n` posts over `hosts` hosts. 70 % new problems (a trigger of a random host; a
 * trigger already firing is posted again instead), 15 % repeats of an open problem, 15 % OKs.
 */
export function stormPosts(n: number, hosts: number, seed: number): AlertSpec[] {
  const rng = new Rng(seed);
  const open = new Map<string, AlertSpec>(); // host/template → open problem
  const openList: string[] = [];
  const out: AlertSpec[] = [];
  let eventId = 1_000_000;
  const take = (key: string) => {
    const i = openList.indexOf(key);
    if (i >= 0) openList.splice(i, 1);
    const s = open.get(key) as AlertSpec;
    open.delete(key);
    return s;
  };
  while (out.length < n) {
    const r = rng.next();
    if (r < 0.7 || openList.length === 0) {
      const h = rng.int(0, hosts - 1);
      const ti = rng.int(0, TEMPLATES.length - 1);
      const key = `${h}/${ti}`;
      const existing = open.get(key);
      if (existing) {
        out.push(existing);
        continue;
      }
      const s = spec(`host-${String(h + 1).padStart(3, '0')}.example.org`, TEMPLATES[ti] as Template, eventId++, 10_000 + h * 100 + ti);
      open.set(key, s);
      openList.push(key);
      out.push(s);
    } else if (r < 0.85) {
      out.push(open.get(rng.pick(openList)) as AlertSpec);
    } else {
      out.push({ ...take(rng.pick(openList)), status: 'OK' });
    }
  }
  return out;
}

/** `n` distinct open problems: random (host, trigger) pairs over `hosts` hosts, as a storm leaves them. */
export function distinctProblems(n: number, hosts: number, seed: number): AlertSpec[] {
  const rng = new Rng(seed);
  const pairs: [number, number][] = [];
  for (let h = 0; h < hosts; h++) for (let t = 0; t < TEMPLATES.length; t++) pairs.push([h, t]);
  if (n > pairs.length) throw new Error(`${n} distinct problems need more than ${hosts} hosts`);
  return rng.shuffle(pairs).slice(0, n).map(([h, t], i) => spec(`host-${String(h + 1).padStart(3, '0')}.example.org`, TEMPLATES[t] as Template, 2_000_000 + i, 10_000 + h * 100 + t));
}

/**
 * Open problems in few topics (idle): 40 % critical, 40 % non-critical, 20 % informational, on
 * 10 hosts per class; each non-critical host has one multi-problem trigger (one checklist per
 * topic), so what the bot says about them is a few dozen messages that go out at once.
 */
export function openProblems(n: number, seed: number): { posts: AlertSpec[]; checklists: number } {
  const rng = new Rng(seed);
  const crit = TEMPLATES.filter((t) => SEVERITY_CLASS[t.severity] === 'critical');
  const info = TEMPLATES.filter((t) => SEVERITY_CLASS[t.severity] === 'informational');
  const posts: AlertSpec[] = [];
  let eventId = 2_000_000;
  const nCrit = Math.round(n * 0.4);
  const nNc = Math.round(n * 0.4);
  const nInfo = n - nCrit - nNc;
  for (let i = 0; i < nCrit; i++) {
    const h = i % 10;
    const t = crit[i % crit.length] as Template;
    posts.push(spec(`crit-${String(h + 1).padStart(3, '0')}.example.org`, { ...t, trigger: `${t.trigger} #${i}`, severity: rng.next() < 0.3 ? 'Disaster' : 'High' }, eventId++, 20_000 + i));
  }
  const ncHosts = Math.min(10, nNc);
  for (let i = 0; i < nNc; i++) {
    const h = i % ncHosts;
    const t: Template = { severity: rng.next() < 0.5 ? 'Average' : 'Warning', trigger: `Errors in /var/log/syslog (pattern ${i})`, item: `Log line ${i}: I/O error, dev vdb` };
    posts.push(spec(`nc-${String(h + 1).padStart(2, '0')}.example.org`, t, eventId++, 40_000 + h));
  }
  for (let i = 0; i < nInfo; i++) {
    const h = i % 10;
    const t = info[i % info.length] as Template;
    posts.push(spec(`info-${String(h + 1).padStart(3, '0')}.example.org`, { ...t, trigger: `${t.trigger} #${i}` }, eventId++, 60_000 + i));
  }
  return { posts: rng.shuffle(posts), checklists: ncHosts };
}

/** Runs actions at their times (ms after start), without drift. */
export async function paced(actions: readonly { at: number; run: () => void }[]): Promise<void> {
  const start = performance.now();
  for (const a of actions) {
    const wait = start + a.at - performance.now();
    if (wait >= 1) await sleep(wait);
    a.run();
  }
}

/** Posts in chunks, yielding to the event loop between chunks so the fake keeps delivering. */
export async function flood<T>(items: readonly T[], post: (item: T) => number, chunk = 100): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < items.length; i++) {
    ids.push(post(items[i] as T));
    if (i % chunk === chunk - 1) await new Promise<void>((r) => setImmediate(r));
  }
  return ids;
}
