/**
 * The first-responder service: who the FR is, two-party handovers, who handles which topic,
 * area or hosts, and who an incident's reminders go to. Looks people and subscriptions up
 * through Zulip, decides with the pure rules in handover.ts.
 */
import type { BotConfig } from '../../config/schema';
import { compileHostPattern } from '../../config/ownership-schema';
import type { Clock } from '../../core/clock';
import type { Logger } from '../../core/log';
import { outside, topicLink } from '../../core/text';
import { formatDuration } from '../../domain/duration';
import type { Incident, TopicRef } from '../../domain/incident';
import { formatTime } from '../../domain/time';
import { hostTopic, resolvedTopic } from '../../domain/topics';
import type { JobQueue } from '../../pipeline/jobs';
import type { Addressee } from '../reminders/render';
import type { Handover, IncidentStore, OwnershipStore, ResponderStore, ScopedHandler, StateStore, Transactional } from '../../store/store';
import type { ZulipApi, ZulipUser } from '../../zulip/api';
import type { Speaker } from '../../zulip/speaker';
import {
  decideConfirmation,
  decideHandover,
  handoverWords,
  mention,
  parseMention,
  pickIncidents,
  renderAnnouncement,
  renderBlocked,
  renderExpired,
  renderManualSteps,
  renderRequest,
  silentMention,
  type HandoverDecision,
  type PendingHandover,
  type Person,
} from './handover';
import { handlingUntil } from './working-hours';
import { UserFacingError } from '../../pipeline/errors';
import { Areas } from './areas';
import type { PeopleDirectory } from './people';

export const ZABBIX_FR_JOB = 'responders.zabbix-first-responder';
export const HANDOVER_REACTION_JOB = 'responders.handover-reaction';
const PENDING_KEY = 'responders.pendingHandover';
const REQUEST_SEQ_KEY = 'responders.handoverRequests';

/** Emoji names that confirm a handover request when its confirmer adds them (✅ and its look-alikes). */
export const CONFIRM_EMOJI = new Set(['white_check_mark', 'check', 'heavy_check_mark', 'check_mark', 'ballot_box_with_check']);

/** The after-commit job that moves the first responder's Zabbix user (./zabbix-handover.ts). */
export interface ZabbixFirstResponderJob {
  to: Person;
  from?: Person;
  /** Where to say what changed: the announcement's topic. */
  stream: string;
  topic: string;
}

export interface HandoverReactionJob {
  requestId: number;
  messageId: number;
  userId: number;
}

export interface ResponderDeps {
  store: ResponderStore & OwnershipStore & StateStore & Pick<IncidentStore, 'openIncidents' | 'incidentsInTopic' | 'putIncident' | 'addLog'> & Transactional;
  speaker: Speaker;
  api: Pick<ZulipApi, 'users' | 'isSubscribed' | 'groupMembers'> & Partial<Pick<ZulipApi, 'getMessage'>>;
  config: Pick<BotConfig, 'streams' | 'sla' | 'firstResponder' | 'timezone'> & Partial<Pick<BotConfig, 'zabbix'>>;
  clock: Clock;
  log: Logger;
  areas?: Areas;
  people?: PeopleDirectory;
  /** After-commit jobs (the Zabbix side of a handover, a ✅ on a request). */
  jobs?: JobQueue;
  /** The bot's own user id: a ✅ counts only on the bot's request message. */
  selfId?: number;
  /** Zabbix is configured and `zabbix.firstResponder` names its user group: completed handovers move people there. */
  zabbixHandover?: boolean;
}

/** What `!handling` (or `!release`) covers. */
export type HandlingTarget =
  | { kind: 'list' }
  | { kind: 'topic'; ref: TopicRef }
  | { kind: 'areas'; names: string[] }
  | { kind: 'host'; pattern: string }
  | { kind: 'all' };

/** A pattern as typed, in a code span (no Markdown inside; a backtick cannot end it early). */
function code(text: string): string {
  return `\`${outside(text, { max: 200 }).replace(/`/g, "'")}\``;
}

export class ResponderService {
  readonly areas: Areas;
  private readonly patterns = new Map<string, RegExp | undefined>();

  constructor(private readonly deps: ResponderDeps) {
    this.areas = deps.areas ?? new Areas([]);
  }

  current(): Handover | undefined {
    return this.deps.store.handovers(1)[0];
  }

  history(limit = 10): Handover[] {
    return this.deps.store.handovers(limit);
  }

  private get expiryMs(): number {
    return this.deps.config.firstResponder.handoverExpiry ?? 30 * 60_000;
  }

  /** Finds the person a mention names: by id when given, else by full name (must be unique). */
  async resolve(text: string): Promise<{ person: Person; user: ZulipUser }> {
    const m = parseMention(text);
    if (!m) throw new UserFacingError('unknown-person', 'Name the person with a mention, e.g. `@**Ann Smith**`.');
    const users = await this.deps.api.users();
    const byId = m.id !== undefined ? users.find((u) => u.id === m.id) : undefined;
    const matches = byId ? [byId] : users.filter((u) => u.fullName.toLowerCase() === m.name.toLowerCase());
    if (matches.length === 0) throw new UserFacingError('unknown-person', `No Zulip user is called ${outside(m.name, { max: 100 })}.`);
    if (matches.length > 1) throw new UserFacingError('unknown-person', `Several users are called ${outside(m.name, { max: 100 })}; use the mention with the id, e.g. \`@**${outside(m.name, { max: 100 })}|${matches[0]?.id}**\`.`);
    const user = matches[0] as ZulipUser;
    if (user.isBot) throw new UserFacingError('unknown-person', `${outside(user.fullName, { max: 100 })} is a bot.`);
    return { person: { id: user.id, name: user.fullName }, user };
  }

  /** Undefined when the person may change who is FR; else why not. Fails closed when the group is missing. */
  async refusal(personId: number): Promise<UserFacingError | undefined> {
    const group = this.deps.config.firstResponder.group;
    if (group === undefined) return undefined;
    const members = await this.deps.api.groupMembers(group);
    if (members === undefined) {
      this.deps.log.error({ group }, 'configured first-responder user group does not exist');
      return new UserFacingError('refused', `The user group **${outside(group, { max: 100 })}** (firstResponder.group) does not exist in Zulip, so nobody may change the first responder. Ask an admin to fix the config.`);
    }
    return members.includes(personId) ? undefined : new UserFacingError('refused', `Only members of the user group **${outside(group, { max: 100 })}** may change the first responder.`);
  }

  /**
   * Undefined when the person may act over the first responder's head (`!handling`, a forced
   * handover): the acting first responder, or a member of `firstResponder.group` when one is set.
   * With no group and nobody FR yet, anyone may (anyone may make themselves FR then). `what` names
   * the action in the refusal.
   */
  async actingOrGroupRefusal(personId: number, what: string): Promise<UserFacingError | undefined> {
    const fr = this.current()?.to;
    if (fr?.id === personId) return undefined;
    const group = this.deps.config.firstResponder.group;
    const acting = fr ? `the acting first responder (${silentMention(fr)})` : 'the first responder';
    if (group === undefined) {
      return fr ? new UserFacingError('refused', `Only ${acting} may ${what} (\`firstResponder.group\` can name a Zulip user group that may too).`) : undefined;
    }
    const members = await this.deps.api.groupMembers(group);
    if (members === undefined) this.deps.log.error({ group }, 'configured first-responder user group does not exist');
    return members?.includes(personId) ? undefined : new UserFacingError('refused', `Only ${acting} or members of the user group **${outside(group, { max: 100 })}** may ${what}.`);
  }

  /** The streams a first responder must be subscribed to, per the process. */
  requiredStreams(user: ZulipUser): string[] {
    const s = this.deps.config.streams;
    const team = this.deps.config.firstResponder.sreTeam;
    const onTeam = team === undefined || team.map((e) => e.toLowerCase()).includes(user.email.toLowerCase());
    return onTeam ? [s.general, s.critical, s.nonCritical, s.informational] : [s.general, s.critical];
  }

  async missingStreams(user: ZulipUser): Promise<string[]> {
    const missing: string[] = [];
    for (const stream of this.requiredStreams(user)) if (!(await this.deps.api.isSubscribed(user.id, stream))) missing.push(stream);
    return missing;
  }

  /** First-time setup: sets the FR only when nobody is FR yet (and, when configured, puts them into Zabbix's FR user group). */
  setFirst(person: Person, by: string, where?: TopicRef): boolean {
    const { store, clock, config } = this.deps;
    return store.transaction(() => {
      if (this.current()) return false;
      store.recordHandover({ to: person, by, at: clock.now(), forced: false });
      if (this.deps.zabbixHandover && this.deps.jobs) {
        const job: ZabbixFirstResponderJob = { to: person, stream: where?.stream ?? config.streams.organisational, topic: where?.topic ?? config.firstResponder.announceTopic };
        this.deps.jobs.enqueue(ZABBIX_FR_JOB, job);
      }
      return true;
    });
  }

  // ----- handover -------------------------------------------------------------------------

  /** The handover waiting for confirmation, if any (an expired one counts until the tick ends it). */
  pending(): PendingHandover | undefined {
    const raw = this.deps.store.getState(PENDING_KEY);
    if (!raw) return undefined;
    try {
      return JSON.parse(raw) as PendingHandover;
    } catch {
      return undefined;
    }
  }

  private setPending(p: PendingHandover | undefined): void {
    this.deps.store.setState(PENDING_KEY, p ? JSON.stringify(p) : '');
  }

  /** Whether `i` is the person's own: acknowledged by them, or handled by them (topic, area, hosts). */
  private owns(person: Person, i: Incident, now: number): boolean {
    const ack = this.acknowledger(i);
    if (ack) return ack.id === person.id;
    return this.handlerOf(i, now)?.person.id === person.id;
  }

  /**
   * `!handover @**Name** [incidents] [force]`: decides; a request waits for the other side's
   * confirmation; `force` (or nobody FR yet) completes at once.
   */
  async handover(sender: Person, args: string, force: boolean, where?: TopicRef): Promise<{ decision: HandoverDecision; reply: string }> {
    const { person: target, user } = await this.resolve(args);
    const { store, clock, config } = this.deps;
    const now = clock.now();
    const current = this.current()?.to;
    const open = store.openIncidents();
    const { names } = handoverWords(args);
    const base = { current, sender, target, force, openIncidents: open, naming: names.length > 0 };
    // Subscriptions are checked only when the rest allows the handover (saves API calls).
    const pre = decideHandover({ ...base, missingStreams: [] });
    const decision = pre.kind === 'complete' || pre.kind === 'request' ? decideHandover({ ...base, missingStreams: await this.missingStreams(user) }) : pre;
    const picked = current && names.length > 0 ? pickIncidents(names, open, (i) => this.owns(current, i, now)) : { picked: [], unknown: [] };
    switch (decision.kind) {
      case 'same-person':
        return { decision, reply: `${outside(target.name, { max: 100 })} is already the acting first responder.` };
      case 'not-allowed':
        return { decision, reply: `Only the acting first responder (${silentMention(decision.current)}) or ${outside(target.name, { max: 100 })} can start this handover.` };
      case 'names-not-allowed':
        return { decision, reply: `Only the acting first responder (${silentMention(decision.current)}) names the incidents to hand over: start it with \`!handover @**${outside(target.name, { max: 100 })}**\` and ${outside(decision.current.name, { max: 100 })} names them when confirming.` };
      case 'blocked':
        return { decision, reply: renderBlocked(decision.unacknowledged, target, config.sla, now) };
      case 'missing-subscriptions':
        return {
          decision,
          reply: `⏸️ ${silentMention(target)} must subscribe to ${decision.streams.map((s) => `**${s}**`).join(', ')} before taking over as first responder (Zulip: Channels → Subscribe). Then run the handover again.`,
        };
      case 'request': {
        if (picked.unknown.length > 0) return { decision, reply: this.unknownNames(picked.unknown) };
        const replaced = this.pending();
        const id = Number(store.getState(REQUEST_SEQ_KEY) ?? '0') + 1;
        const p: PendingHandover = {
          id,
          from: current as Person,
          to: target,
          by: sender,
          confirmer: decision.confirmer,
          named: picked.picked.map((i) => i.eventId),
          requestedAt: now,
          expiresAt: now + this.expiryMs,
          ...(where ? { where } : {}),
        };
        store.transaction(() => {
          store.setState(REQUEST_SEQ_KEY, String(id));
          this.setPending(p);
        });
        this.deps.log.info({ request: id, from: p.from.name, to: target.name, by: sender.name }, 'first responder handover requested');
        const note = replaced ? `\n(It replaces request #${replaced.id} to ${outside(replaced.to.name, { max: 100 })}.)` : '';
        return { decision, reply: renderRequest(p, formatDuration(this.expiryMs), picked.picked) + note };
      }
      case 'complete': {
        if (picked.unknown.length > 0) return { decision, reply: this.unknownNames(picked.unknown) };
        const reply = this.complete({ from: current, to: target, by: sender, forced: decision.forced, named: picked.picked.map((i) => i.eventId), open });
        return { decision, reply };
      }
    }
  }

  private unknownNames(unknown: readonly string[]): string {
    return `No open incident matches ${unknown.map((n) => `**${outside(n, { max: 60 })}**`).join(', ')} (name incidents by host, e.g. \`web-01\`, or by event id; \`all\` for every one you own). Nothing changed.`;
  }

  /** `!handover accept` / `!handover confirm [incidents]` by the other side. */
  async confirm(sender: Person, args: string): Promise<string> {
    const { store, clock, config } = this.deps;
    const now = clock.now();
    const waiting = this.pending();
    if (waiting && waiting.expiresAt <= now) {
      this.expirePending(now);
      return `Handover request #${waiting.id} has expired (it waited ${formatDuration(this.expiryMs)}). Start a new one with \`!handover @**Name**\`.`;
    }
    const p = waiting;
    const names = args.split(/[\s,]+/).filter(Boolean).slice(0, 50);
    const current = this.current()?.to;
    const open = store.openIncidents();
    const base = { pending: p, current, sender, naming: names.length > 0, openIncidents: open };
    const pre = decideConfirmation({ ...base, missingStreams: [] });
    let d = pre;
    if (pre.kind === 'complete' && p) {
      const user = (await this.deps.api.users()).find((u) => u.id === p.to.id);
      d = decideConfirmation({ ...base, missingStreams: user ? await this.missingStreams(user) : [] });
    }
    switch (d.kind) {
      case 'none':
        return 'No handover is waiting for confirmation. Start one with `!handover @**Name**`.';
      case 'stale':
        store.transaction(() => this.setPending(undefined));
        return `Handover request #${p?.id} is void: the first responder changed since it was made. Start a new one with \`!handover @**Name**\`.`;
      case 'own-request':
        return `You started handover request #${p?.id}: it waits for ${silentMention((p as PendingHandover).confirmer)} to confirm (until ${formatTime((p as PendingHandover).expiresAt, config.timezone)}). \`!handover cancel\` withdraws it.`;
      case 'not-confirmer':
        return `Only ${silentMention((p as PendingHandover).confirmer)} can confirm handover request #${p?.id} (${silentMention((p as PendingHandover).from)} → ${silentMention((p as PendingHandover).to)}).`;
      case 'names-not-allowed':
        return `Only the acting first responder (${silentMention((p as PendingHandover).from)}) names the incidents to hand over.`;
      case 'blocked':
        return renderBlocked(d.unacknowledged, (p as PendingHandover).to, config.sla, now).replace('The handover to', `Handover request #${p?.id} to`);
      case 'missing-subscriptions':
        return `⏸️ ${silentMention((p as PendingHandover).to)} must subscribe to ${d.streams.map((s) => `**${s}**`).join(', ')} before taking over as first responder (Zulip: Channels → Subscribe). Then confirm again.`;
      case 'complete': {
        const pend = p as PendingHandover;
        const picked = names.length > 0 ? pickIncidents(names, open, (i) => this.owns(pend.from, i, now)) : { picked: [], unknown: [] };
        if (picked.unknown.length > 0) return this.unknownNames(picked.unknown);
        return this.complete({ from: pend.from, to: pend.to, by: pend.by, confirmedBy: sender, forced: false, named: [...new Set([...pend.named, ...picked.picked.map((i) => i.eventId)])], open });
      }
    }
  }

  /** `!handover cancel`: either side (or the one who started it) withdraws the request. */
  cancel(sender: Person): string {
    const p = this.pending();
    if (!p) return 'No handover is waiting for confirmation.';
    if (![p.from.id, p.to.id, p.by.id].includes(sender.id)) return `Only ${silentMention(p.from)} or ${silentMention(p.to)} can withdraw handover request #${p.id}.`;
    this.deps.store.transaction(() => this.setPending(undefined));
    return `Handover request #${p.id} (${silentMention(p.from)} → ${silentMention(p.to)}) withdrawn by ${outside(sender.name, { max: 100 })}.`;
  }

  /**
   * Completes a handover: records it, hands the named incidents over (their acknowledgement moves
   * to the new FR: acknowledging is taking responsibility), announces it, and queues the Zabbix
   * side — one transaction. Returns the reply with the steps left to people.
   */
  private complete(c: { from: Person | undefined; to: Person; by: Person; confirmedBy?: Person; forced: boolean; named: readonly string[]; open: readonly Incident[] }): string {
    const { store, clock, config, speaker } = this.deps;
    const now = clock.now();
    const named = new Set(c.named);
    const handedOver = c.open.filter((i) => named.has(i.eventId));
    const kept = c.from ? c.open.filter((i) => !named.has(i.eventId) && this.owns(c.from as Person, i, now)) : [];
    const zabbixGroup = this.deps.zabbixHandover ? config.zabbix?.firstResponder : undefined;
    store.transaction(() => {
      store.recordHandover({ ...(c.from ? { from: c.from } : {}), to: c.to, by: c.by.name, at: now, forced: c.forced });
      for (const i of handedOver) {
        if (i.status === 'acknowledged') {
          store.putIncident({ ...i, acknowledgedBy: c.to.name, acknowledgedById: c.to.id }, { eventId: i.eventId, at: now, kind: 'note', actor: c.from?.name ?? c.by.name, detail: `handed over to ${c.to.name} at the first-responder handover` });
        }
        // The old FR's handling of the topic ends with it: the topic's reminders go to the new FR.
        const h = store.handlerFor(i);
        if (h && c.from && h.person.id === c.from.id) store.removeHandler(i);
      }
      this.setPending(undefined);
      speaker.say(
        config.streams.organisational,
        config.firstResponder.announceTopic,
        renderAnnouncement({ from: c.from, to: c.to, by: c.by, ...(c.confirmedBy ? { confirmedBy: c.confirmedBy } : {}), forced: c.forced, open: c.open, handedOver: handedOver.map((i) => (i.status === 'acknowledged' ? { ...i, acknowledgedBy: c.to.name, acknowledgedById: c.to.id } : i)), kept, ...(zabbixGroup ? { zabbixGroup } : {}), sla: config.sla, now }),
      );
      if (zabbixGroup && this.deps.jobs) {
        const job: ZabbixFirstResponderJob = { to: c.to, ...(c.from ? { from: c.from } : {}), stream: config.streams.organisational, topic: config.firstResponder.announceTopic };
        this.deps.jobs.enqueue(ZABBIX_FR_JOB, job);
      }
    });
    this.deps.log.info({ from: c.from?.name, to: c.to.name, forced: c.forced, confirmedBy: c.confirmedBy?.name, handedOver: handedOver.length }, 'first responder handover');
    return renderManualSteps(c.from, c.to, zabbixGroup !== undefined);
  }

  /** A ✅ on the bot's request message by its confirmer: checked and completed off the message path (a job). */
  onReaction(e: { op: 'add' | 'remove'; messageId: number; emojiName: string; userId: number }): void {
    if (e.op !== 'add' || !CONFIRM_EMOJI.has(e.emojiName)) return;
    const p = this.pending();
    if (!p || p.confirmer.id !== e.userId || !this.deps.jobs) return;
    const job: HandoverReactionJob = { requestId: p.id, messageId: e.messageId, userId: e.userId };
    this.deps.jobs.enqueue(HANDOVER_REACTION_JOB, job);
  }

  /** The job behind a ✅: the message must be the bot's request #N; then it counts as `!handover confirm`. */
  async confirmByReaction(job: HandoverReactionJob): Promise<void> {
    const p = this.pending();
    if (!p || p.id !== job.requestId || p.confirmer.id !== job.userId) return;
    const message = await this.deps.api.getMessage?.(job.messageId);
    if (!message || (this.deps.selfId !== undefined && message.senderId !== this.deps.selfId) || !message.content.includes(`(request #${p.id})`)) return;
    const reply = await this.confirm(p.confirmer, '');
    const where = p.where ?? { stream: this.deps.config.streams.general, topic: this.deps.config.firstResponder.announceTopic };
    this.deps.store.transaction(() => this.deps.speaker.say(where.stream, where.topic, `(${outside(p.confirmer.name, { max: 100 })} confirmed with ✅)\n${reply}`, 'reply'));
  }

  /** Ends a request nobody confirmed in time, and says so where it was made. */
  expirePending(now: number): boolean {
    const p = this.pending();
    if (!p || p.expiresAt > now) return false;
    const { store, speaker, config } = this.deps;
    store.transaction(() => {
      this.setPending(undefined);
      const where = p.where ?? { stream: config.streams.general, topic: config.firstResponder.announceTopic };
      speaker.say(where.stream, where.topic, renderExpired(p, formatDuration(this.expiryMs)));
    });
    this.deps.log.info({ request: p.id }, 'handover request expired');
    return true;
  }

  // ----- handling -------------------------------------------------------------------------

  private until(now: number): number {
    const { firstResponder, timezone } = this.deps.config;
    return handlingUntil(now, timezone, firstResponder.workingHours.start, firstResponder.workingHours.end, firstResponder.workingDays);
  }

  /** The hosts a topic is about: its name (without ✔) and its open incidents' hosts. */
  private hostsOf(ref: TopicRef): string[] {
    const open = [...this.deps.store.incidentsInTopic({ stream: ref.stream, topic: hostTopic(ref.topic) }, { openOnly: true }), ...this.deps.store.incidentsInTopic({ stream: ref.stream, topic: resolvedTopic(ref.topic) }, { openOnly: true })];
    return [...new Set([hostTopic(ref.topic), ...open.map((i) => i.host)])];
  }

  private openInTopic(ref: TopicRef): number {
    return this.deps.store.incidentsInTopic({ stream: ref.stream, topic: hostTopic(ref.topic) }, { openOnly: true }).length + this.deps.store.incidentsInTopic({ stream: ref.stream, topic: resolvedTopic(ref.topic) }, { openOnly: true }).length;
  }

  /** What `!handling <args>` typed in `ref` covers (throws a UserFacingError for a bad area or pattern). */
  handlingTarget(ref: TopicRef | undefined, args: string): HandlingTarget {
    const a = args.trim();
    if (a === '' && ref) {
      const areas = [...new Set(this.hostsOf(ref).flatMap((h) => this.areas.of(h).map((x) => x.name)))];
      if (areas.length > 0) return { kind: 'areas', names: areas };
      return this.openInTopic(ref) > 0 ? { kind: 'topic', ref } : { kind: 'list' };
    }
    if (a === '' || /^list$/i.test(a)) return { kind: 'list' };
    if (/^all$/i.test(a)) return { kind: 'all' };
    if (/^topic$/i.test(a) && ref) return { kind: 'topic', ref };
    const area = /^area\s+(.+)$/i.exec(a);
    if (area) {
      const found = this.areas.byName(area[1] as string);
      if (!found) {
        const known = this.areas.list.map((x) => `\`${x.name}\``).join(', ');
        throw new UserFacingError('usage', `No area is called ${outside(area[1] as string, { max: 60 })}. ${known ? `Areas: ${known}.` : 'No areas are configured (config `areas`).'}`);
      }
      return { kind: 'areas', names: [found.name] };
    }
    const host = /^host\s+(\S.{0,199})$/i.exec(a);
    if (host) {
      const pattern = (host[1] as string).trim();
      const c = compileHostPattern(pattern);
      if ('error' in c) throw new UserFacingError('usage', `That host pattern cannot be used: ${outside(c.error, { max: 300 })}.`);
      return { kind: 'host', pattern };
    }
    throw new UserFacingError('usage', 'Say what you handle: nothing (this topic, or its area), `area <name>`, `host <regular expression>`, or `list`.');
  }

  /** `!handling …`: the sender handles the target until the end of their working day (see working-hours.ts). */
  startHandling(ref: TopicRef, person: Person, target: HandlingTarget = { kind: 'topic', ref }): { until: number; covers: string; person: Person } {
    const now = this.deps.clock.now();
    const until = this.until(now);
    const { store } = this.deps;
    let covers: string;
    store.transaction(() => {
      if (target.kind === 'topic') {
        store.setHandler({ stream: target.ref.stream, topic: hostTopic(target.ref.topic), person, since: now, until });
      } else if (target.kind === 'areas') {
        for (const name of target.names) store.setScopedHandler({ scope: 'area', key: name, person, since: now, until, where: ref });
      } else if (target.kind === 'host') {
        store.setScopedHandler({ scope: 'host', key: target.pattern, person, since: now, until, where: ref });
      }
    });
    if (target.kind === 'areas') covers = `${target.names.length === 1 ? 'area' : 'areas'} ${target.names.map((n) => `**${outside(n, { max: 60 })}**`).join(', ')} (every incident there)`;
    else if (target.kind === 'host') covers = `the hosts matching ${code(target.pattern)}`;
    else covers = 'this topic';
    return { until, covers, person };
  }

  /** `!release [area <name> | host <pattern> | all]`: ends handling; without words, this topic's and its areas'. */
  release(ref: TopicRef, person?: Person, target?: HandlingTarget): { released: string[]; who: Person[] } {
    const { store } = this.deps;
    const released: string[] = [];
    const who: Person[] = [];
    store.transaction(() => {
      const t = target ?? { kind: 'topic' as const, ref };
      if (t.kind === 'topic' || t.kind === 'list') {
        const h = store.handlerFor(ref);
        if (h && store.removeHandler(ref)) {
          released.push('this topic');
          who.push(h.person);
        }
        const areas = new Set(this.hostsOf(ref).flatMap((host) => this.areas.of(host).map((a) => a.name)));
        for (const s of store.scopedHandlers()) {
          const hit = s.scope === 'area' ? areas.has(s.key) : this.hostsOf(ref).some((host) => this.pattern(s.key)?.test(host));
          if (hit && store.removeScopedHandler(s.scope, s.key)) {
            released.push(this.scopeLabel(s));
            who.push(s.person);
          }
        }
      } else if (t.kind === 'areas' || t.kind === 'host') {
        const keys = t.kind === 'areas' ? t.names.map((k) => ['area', k] as const) : [['host', t.pattern] as const];
        for (const [scope, key] of keys) {
          const s = store.scopedHandlers().find((x) => x.scope === scope && x.key.toLowerCase() === key.toLowerCase());
          if (s && store.removeScopedHandler(s.scope, s.key)) {
            released.push(this.scopeLabel(s));
            who.push(s.person);
          }
        }
      } else if (t.kind === 'all' && person) {
        for (const h of store.handlersOf(person.id)) if (store.removeHandler(h)) released.push(topicLink(h.stream, h.topic));
        for (const s of store.scopedHandlers()) if (s.person.id === person.id && store.removeScopedHandler(s.scope, s.key)) released.push(this.scopeLabel(s));
        if (released.length > 0) who.push(person);
      }
    });
    return { released, who };
  }

  private scopeLabel(s: Pick<ScopedHandler, 'scope' | 'key'>): string {
    return s.scope === 'area' ? `area **${outside(s.key, { max: 60 })}**` : `hosts matching ${code(s.key)}`;
  }

  private pattern(p: string): RegExp | undefined {
    if (!this.patterns.has(p)) {
      const c = compileHostPattern(p);
      this.patterns.set(p, 're' in c ? c.re : undefined);
    }
    return this.patterns.get(p);
  }

  /** Who handles the incident now: its topic's handler, else its area's, else its hosts'. */
  handlerOf(i: Pick<Incident, 'stream' | 'topic' | 'host'>, now: number): { person: Person; role: string } | undefined {
    const h = this.deps.store.handlerFor(i);
    if (h && h.until > now) return { person: h.person, role: 'handling this' };
    const scoped = this.deps.store.scopedHandlers().filter((s) => s.until > now);
    if (scoped.length === 0) return undefined;
    const areas = this.areas.of(i.host).map((a) => a.name);
    const area = scoped.find((s) => s.scope === 'area' && areas.includes(s.key));
    if (area) return { person: area.person, role: `handling area ${outside(area.key, { max: 60 })}` };
    const host = scoped.find((s) => s.scope === 'host' && this.pattern(s.key)?.test(i.host.slice(0, 1000)));
    if (host) return { person: host.person, role: `handling hosts matching ${code(host.key)}` };
    return undefined;
  }

  /**
   * Who acknowledged an incident, as a Zulip person: from the id kept with a chat `!ack` (or a
   * handover); for an acknowledgement made in Zabbix, through `zabbix.users` (Zulip email →
   * Zabbix username) and the cached Zulip users. Undefined when unknown.
   */
  acknowledger(i: Incident): Person | undefined {
    if (i.status !== 'acknowledged') return undefined;
    if (i.acknowledgedById !== undefined) return { id: i.acknowledgedById, name: i.acknowledgedBy ?? '?' };
    const m = /^(.*) \(Zabbix\)$/.exec(i.acknowledgedBy ?? '');
    const users = this.deps.config.zabbix?.users;
    if (!m || !users || !this.deps.people) return undefined;
    const username = (m[1] as string).toLowerCase();
    const email = Object.entries(users).find(([, u]) => u.toLowerCase() === username)?.[0];
    const u = email ? this.deps.people.byEmail(email) : undefined;
    return u ? { id: u.id, name: u.fullName } : undefined;
  }

  /**
   * Who an incident's reminders and warnings go to (the right person): whoever acknowledged it;
   * else whoever handles it (topic, area, hosts) while their day lasts; else the first responder.
   */
  addressee(i: Incident, now: number): Addressee | undefined {
    const ack = this.acknowledger(i);
    if (ack) return { mention: mention(ack), role: 'acknowledged it' };
    const h = this.handlerOf(i, now);
    if (h) return { mention: mention(h.person), role: h.role };
    const fr = this.current();
    return fr ? { mention: mention(fr.to), role: 'first responder' } : undefined;
  }

  /** `!handling list`: who handles what, the areas, and the first responder for the rest. */
  listHandling(now: number): string {
    const { store, config } = this.deps;
    const tz = config.timezone;
    const topics = store.handlersEndingBy(Number.MAX_SAFE_INTEGER).filter((h) => h.until > now);
    const scoped = store.scopedHandlers().filter((s) => s.until > now);
    const fr = this.current()?.to;
    const lines = ['**Who handles what**:'];
    for (const s of scoped) lines.push(`- ${this.scopeLabel(s)}: ${silentMention(s.person)} until ${formatTime(s.until, tz)}`);
    for (const h of topics) lines.push(`- ${topicLink(h.stream, h.topic)}: ${silentMention(h.person)} until ${formatTime(h.until, tz)}`);
    if (scoped.length + topics.length === 0) lines.push('- nobody handles anything by `!handling`');
    lines.push(`- everything else: ${fr ? `the first responder ${silentMention(fr)}` : 'the first responder (none is set: `!fr @**Name**`)'}; acknowledged incidents: whoever acknowledged them`);
    const handledAreas = new Set(scoped.filter((s) => s.scope === 'area').map((s) => s.key));
    if (this.areas.list.length > 0) {
      lines.push(
        '',
        `**Areas** (\`!handling area <name>\`, or \`!handling\` in a topic of the area): ${this.areas.list
          .map((a) => `\`${outside(a.name, { max: 60 })}\`${handledAreas.has(a.name) ? '' : ' (free)'} — ${[...a.hosts.map((r) => `/${r.source}/`), ...a.hostGroups.map((g) => `group ${g}`)].map((x) => outside(x, { max: 100, literal: true })).join(', ')}`)
          .join('; ')}`,
      );
    }
    return lines.join('\n');
  }

  /** Ends handling whose working day is over and tells the topic (or where an area's handling began). */
  expireHandlers(now: number): number {
    const { store, speaker, config } = this.deps;
    return store.transaction(() => {
      const ended = store.handlersEndingBy(now);
      const scoped = store.scopedHandlers().filter((s) => s.until <= now);
      const fr = this.current()?.to;
      // The FR is told for real; a handler who is the FR is not told about themselves.
      const back = (person: Person, what: string, where: string) =>
        fr && fr.id === person.id
          ? `🕔 ${outside(person.name, { max: 100 })}'s working day has ended: their handling of ${what} ended.`
          : `🕔 ${outside(person.name, { max: 100 })}'s working day has ended: reminders ${where} go to ${fr ? `the first responder ${mention(fr)}` : 'the first responder (none is set: `!fr @**Name**`)'} again.`;
      for (const h of ended) {
        store.removeHandler(h);
        if (this.openInTopic(h) === 0) continue;
        speaker.say(h.stream, h.topic, back(h.person, 'this topic', 'in this topic'));
      }
      for (const s of scoped) {
        store.removeScopedHandler(s.scope, s.key);
        const covered = store.openIncidents().filter((i) => (s.scope === 'area' ? this.areas.of(i.host).some((a) => a.name === s.key) : this.pattern(s.key)?.test(i.host.slice(0, 1000))));
        if (covered.length === 0) continue;
        const where = s.where ?? { stream: config.streams.general, topic: config.firstResponder.announceTopic };
        const topics = [...new Map(covered.map((i) => [`${i.stream}\u0000${i.topic}`, i])).values()];
        const list = topics.slice(0, 10).map((i) => topicLink(i.stream, i.topic)).join(', ') + (topics.length > 10 ? ` and ${topics.length - 10} more` : '');
        speaker.say(where.stream, where.topic, `${back(s.person, this.scopeLabel(s), `for ${this.scopeLabel(s)}`)} Open there: ${covered.length} incident${covered.length === 1 ? '' : 's'} (${list}).`);
      }
      return ended.length + scoped.length;
    });
  }
}
