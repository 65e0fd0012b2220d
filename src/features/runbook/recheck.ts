/**
 * `!recheck`: the process's "Execute now" before resolving. Asks Zabbix to execute the items
 * behind the topic's firing triggers now (task.create check-now), watches the triggers for a
 * bounded time, and reports each one's state. Runs in the background: the bot keeps reading
 * alerts and commands while it waits.
 */
import { formatDuration } from '../../domain/duration';
import type { Clock } from '../../core/clock';
import type { Logger } from '../../core/log';
import { outside } from '../../core/text';
import { hostTopic, isResolvedTopic } from '../../domain/topics';
import type { Incident, TopicRef } from '../../domain/incident';
import type { IncidentStore } from '../../store/store';
import type { ZabbixApi } from '../../zabbix/client';
import { ZabbixError } from '../../zabbix/errors';

const MAX_TRIGGERS = 20;
const DEFAULT_POLL_MS = 2_000;

export const NO_ZABBIX_TEXT =
  "`!recheck` needs the Zabbix API, and this bot has none configured (`zabbix.url` and `zabbix.token`). " +
  "Do it by hand: in Zabbix, open the item(s) behind the trigger in the host's configuration, use **Execute now**, " +
  "then check the item's latest data (its timestamp shows the update) and whether the trigger still fires.";

export interface RecheckDeps {
  zabbix?: ZabbixApi;
  store: Pick<IncidentStore, 'incidentsInTopic'>;
  clock: Clock;
  log: Logger;
  /** How long to watch the triggers after asking Zabbix (milliseconds). */
  waitMs: number;
  /** How often to read the trigger values while waiting. */
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

type TriggerState = { triggerId: string; itemIds: string[]; value: 0 | 1; description: string };

/** The latest incident of each trigger in the topic, Zabbix events only, newest first. */
function triggersOf(incidents: readonly Incident[]): Incident[] {
  const latest = new Map<string, Incident>();
  for (const i of incidents) {
    if (!/^\d+$/.test(i.eventId)) continue;
    const had = latest.get(i.triggerId);
    if (!had || i.openedAt > had.openedAt || (i.openedAt === had.openedAt && i.status !== 'resolved')) latest.set(i.triggerId, i);
  }
  return [...latest.values()].sort((a, b) => b.openedAt - a.openedAt).slice(0, MAX_TRIGGERS);
}

const short = (err: unknown) => outside((err as Error).message ?? String(err), { max: 300 });
/** Zabbix's reason without the method prefix: "Invalid params. Cannot send request: wrong item type." */
const refusal = (err: unknown) => short(err).replace(/^Zabbix [\w.]+:\s*/, '');
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The report after the wait. Pure. */
export function renderRecheckReport(incidents: readonly Incident[], states: ReadonlyMap<string, TriggerState>, opts: { executed: number; waitedMs: number; topicResolved?: boolean }): string {
  const lines = incidents.map((i) => {
    const s = states.get(i.triggerId);
    const name = `**${outside(i.triggerName)}** (event ${i.eventId})`;
    if (!s) return `- ❓ ${name}: Zabbix does not know this trigger (any more?)`;
    if (s.value === 0) return `- ✅ ${name}: OK — no longer firing${i.status !== 'resolved' ? ' (the OK post or the next sync closes it here)' : ''}`;
    return `- 🔥 ${name}: **still firing**`;
  });
  const firing = incidents.filter((i) => states.get(i.triggerId)?.value === 1).length;
  const head =
    opts.executed > 0
      ? `🔄 **Recheck:** Zabbix executed ${plural(opts.executed, 'item')} now; state after ${formatDuration(opts.waitedMs)}:`
      : `🔄 **Recheck:** Zabbix could not execute any item now; current state:`;
  const tail =
    firing > 0
      ? `Still firing: ${opts.topicResolved ? 'this topic was marked resolved too early' : "don't mark the topic resolved yet"}. Check the item's latest data in Zabbix (did the value update?) and the trigger definition.`
      : opts.topicResolved
        ? 'Nothing fires: the ✔ on this topic stands.'
        : 'Nothing fires: per the process, mark the topic resolved (✔) when no other triggers fire for the host.';
  return [head, ...lines, tail].join('\n');
}

export class RecheckService {
  private readonly running = new Set<string>();

  constructor(private readonly deps: RecheckDeps) {}

  get configured(): boolean {
    return this.deps.zabbix !== undefined;
  }

  /**
   * Starts a recheck of the topic; everything it says goes through `reply`. Returns the running
   * job (never rejects), or undefined when there is nothing to do (already said why).
   */
  start(ref: TopicRef, reply: (text: string) => void, by: string): Promise<void> | undefined {
    const zabbix = this.deps.zabbix;
    if (!zabbix) {
      reply(NO_ZABBIX_TEXT);
      return undefined;
    }
    const key = `${ref.stream}\u0000${hostTopic(ref.topic)}`;
    if (this.running.has(key)) {
      reply('A recheck is already running in this topic; its report follows.');
      return undefined;
    }
    const incidents = triggersOf(this.deps.store.incidentsInTopic(ref));
    if (incidents.length === 0) {
      reply('Nothing to recheck: no Zabbix problem is tracked in this topic.');
      return undefined;
    }
    this.running.add(key);
    this.deps.log.info({ ...ref, by, triggers: incidents.map((i) => i.triggerId) }, 'recheck started');
    return this.run(zabbix, ref, incidents, reply)
      .catch((err) => {
        this.deps.log.warn({ err: short(err), ...ref }, 'recheck failed');
        reply(`⚠️ Recheck failed: ${short(err)}. Use Zabbix's **Execute now** on the items by hand.`);
      })
      .finally(() => this.running.delete(key));
  }

  private async run(zabbix: ZabbixApi, ref: TopicRef, incidents: Incident[], reply: (text: string) => void): Promise<void> {
    const { clock } = this.deps;
    const before = new Map((await zabbix.triggerItems(incidents.map((i) => i.triggerId))).map((t) => [t.triggerId, t]));
    // The topic's open triggers: firing in Zabbix, or open here.
    const targets = incidents.filter((i) => before.get(i.triggerId)?.value === 1 || (i.status !== 'resolved' && before.has(i.triggerId)));
    if (targets.length === 0) {
      const unknown = incidents.filter((i) => !before.has(i.triggerId));
      const ok = incidents.filter((i) => before.has(i.triggerId));
      const parts = [
        ok.length > 0 ? `✅ Zabbix says no trigger of this topic fires (${ok.map((i) => `**${outside(i.triggerName)}**`).join(', ')}): nothing to recheck.` : undefined,
        unknown.length > 0 ? `❓ Zabbix does not know ${unknown.map((i) => `**${outside(i.triggerName)}**`).join(', ')} (any more?).` : undefined,
      ];
      reply(parts.filter(Boolean).join('\n'));
      return;
    }
    const itemIds = [...new Set(targets.flatMap((i) => before.get(i.triggerId)?.itemIds ?? []))];
    const { executed, refused } = await this.checkNow(zabbix, itemIds);
    const names = targets.map((i) => `**${outside(i.triggerName)}**`).join(', ');
    const refusedText = refused.length > 0 ? ` Zabbix cannot execute ${plural(refused.length, 'item')} now (${refused[0]?.why}) — trapper and active-agent items only update when data arrives.` : '';
    if (executed.length > 0) reply(`🔄 Asked Zabbix to execute ${plural(executed.length, 'item')} now for ${names}; I'll report each trigger's state within ${formatDuration(this.deps.waitMs)}.${refusedText}`);
    else if (refusedText) reply(`🔄${refusedText}`);
    this.deps.log.info({ ...ref, executed, refused: refused.map((r) => r.itemId) }, 'recheck: check-now requested');

    const startedAt = clock.now();
    const deadline = startedAt + this.deps.waitMs;
    const ids = targets.map((i) => i.triggerId);
    let states: Map<string, TriggerState> = new Map(ids.flatMap((id) => { const s = before.get(id); return s ? [[id, s] as const] : []; }));
    let lastError: unknown;
    let polled = false;
    const sleep = this.deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    while (executed.length > 0 && clock.now() < deadline) {
      await sleep(Math.max(0, Math.min(this.deps.pollMs ?? DEFAULT_POLL_MS, deadline - clock.now())));
      try {
        states = new Map((await zabbix.triggerItems(ids)).map((t) => [t.triggerId, t]));
        polled = true;
        lastError = undefined;
      } catch (err) {
        lastError = err;
        this.deps.log.warn({ err: short(err), ...ref }, 'recheck: reading trigger values failed; trying again');
        continue;
      }
      if (ids.every((id) => states.get(id)?.value === 0)) break;
    }
    if (executed.length > 0 && !polled && lastError !== undefined) throw lastError;
    reply(renderRecheckReport(targets, states, { executed: executed.length, waitedMs: clock.now() - startedAt, topicResolved: isResolvedTopic(ref.topic) }));
    this.deps.log.info({ ...ref, firing: ids.filter((id) => states.get(id)?.value === 1) }, 'recheck done');
  }

  /** Check-now for all items; when Zabbix refuses the batch (e.g. a trapper item), item by item. */
  private async checkNow(zabbix: ZabbixApi, itemIds: string[]): Promise<{ executed: string[]; refused: { itemId: string; why: string }[] }> {
    if (itemIds.length === 0) return { executed: [], refused: [] };
    try {
      await zabbix.checkNow(itemIds);
      return { executed: itemIds, refused: [] };
    } catch (err) {
      if (!(err instanceof ZabbixError) || err.transient || err.code === undefined) throw err;
      if (itemIds.length === 1) return { executed: [], refused: [{ itemId: itemIds[0] as string, why: refusal(err) }] };
    }
    const executed: string[] = [];
    const refused: { itemId: string; why: string }[] = [];
    for (const itemId of itemIds) {
      try {
        await zabbix.checkNow([itemId]);
        executed.push(itemId);
      } catch (err) {
        if (!(err instanceof ZabbixError) || err.transient || err.code === undefined) throw err;
        refused.push({ itemId, why: refusal(err) });
      }
    }
    return { executed, refused };
  }
}
