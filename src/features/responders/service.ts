/**
 * The first-responder service: who the FR is, handovers, who handles which topic. Looks people
 * and subscriptions up through Zulip, decides with the pure rules in handover.ts.
 */
import type { BotConfig } from '../../config/schema';
import type { Clock } from '../../core/clock';
import type { Logger } from '../../core/log';
import { outside } from '../../core/text';
import type { TopicRef } from '../../domain/incident';
import type { Addressee } from '../reminders/render';
import type { Handler, Handover, IncidentStore, ResponderStore, Transactional } from '../../store/store';
import type { ZulipApi, ZulipUser } from '../../zulip/api';
import type { Speaker } from '../../zulip/speaker';
import { decideHandover, mention, parseMention, renderAnnouncement, renderBlocked, renderManualSteps, silentMention, type HandoverDecision, type Person } from './handover';
import { handlingUntil } from './working-hours';
import { UserFacingError } from '../../pipeline/errors';
import { resolvedTopic } from '../../domain/topics';

export interface ResponderDeps {
  store: ResponderStore & Pick<IncidentStore, 'openIncidents' | 'incidentsInTopic'> & Transactional;
  speaker: Speaker;
  api: Pick<ZulipApi, 'users' | 'isSubscribed' | 'groupMembers'>;
  config: Pick<BotConfig, 'streams' | 'sla' | 'firstResponder' | 'timezone'>;
  clock: Clock;
  log: Logger;
}


export class ResponderService {
  constructor(private readonly deps: ResponderDeps) {}

  current(): Handover | undefined {
    return this.deps.store.handovers(1)[0];
  }

  history(limit = 10): Handover[] {
    return this.deps.store.handovers(limit);
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

  /** First-time setup: sets the FR only when nobody is FR yet. */
  setFirst(person: Person, by: string): boolean {
    const { store, clock } = this.deps;
    return store.transaction(() => {
      if (this.current()) return false;
      store.recordHandover({ to: person, by, at: clock.now(), forced: false });
      return true;
    });
  }

  /** Runs `!handover`: decides, and on completion records, announces and returns the manual steps. */
  async handover(sender: Person, targetText: string, force: boolean): Promise<{ decision: HandoverDecision; reply: string }> {
    const { person: target, user } = await this.resolve(targetText);
    const { store, clock, config } = this.deps;
    const now = clock.now();
    const current = this.current()?.to;
    const open = store.openIncidents();
    // Subscriptions are checked only when the rest allows the handover (saves API calls).
    const pre = decideHandover({ current, sender, target, force, openIncidents: open, missingStreams: [] });
    const decision = pre.kind === 'complete' ? decideHandover({ current, sender, target, force, openIncidents: open, missingStreams: await this.missingStreams(user) }) : pre;
    switch (decision.kind) {
      case 'same-person':
        return { decision, reply: `${outside(target.name, { max: 100 })} is already the acting first responder.` };
      case 'not-allowed':
        return { decision, reply: `Only the acting first responder (${silentMention(decision.current)}) or ${outside(target.name, { max: 100 })} can start this handover.` };
      case 'blocked':
        return { decision, reply: renderBlocked(decision.unacknowledged, target, config.sla, now) };
      case 'missing-subscriptions':
        return {
          decision,
          reply: `⏸️ ${silentMention(target)} must subscribe to ${decision.streams.map((s) => `**${s}**`).join(', ')} before taking over as first responder (Zulip: Channels → Subscribe). Then run the handover again.`,
        };
      case 'complete': {
        const handedOver = current ? open.filter((i) => i.acknowledgedBy === current.name || store.handlerFor(i)?.person.id === current.id) : [];
        store.transaction(() => {
          store.recordHandover({ ...(current ? { from: current } : {}), to: target, by: sender.name, at: now, forced: decision.forced });
          this.deps.speaker.say(
            config.streams.organisational,
            config.firstResponder.announceTopic,
            renderAnnouncement({ from: current, to: target, by: sender, forced: decision.forced, open, handedOver, sla: config.sla, now }),
          );
        });
        this.deps.log.info({ from: current?.name, to: target.name, forced: decision.forced }, 'first responder handover');
        return { decision, reply: renderManualSteps(current, target) };
      }
    }
  }

  /** `!handling`: the sender handles the topic until the end of their working day. */
  startHandling(ref: TopicRef, person: Person): Handler {
    const { firstResponder, timezone } = this.deps.config;
    const now = this.deps.clock.now();
    const h: Handler = { ...ref, person, since: now, until: handlingUntil(now, timezone, firstResponder.workingHours.start, firstResponder.workingHours.end) };
    this.deps.store.setHandler(h);
    return { ...h, topic: ref.topic };
  }

  release(ref: TopicRef): Handler | undefined {
    const h = this.deps.store.handlerFor(ref);
    if (h) this.deps.store.removeHandler(ref);
    return h;
  }

  /** Who reminders in a topic go to: its handler (while their day lasts), else the FR, else nobody. */
  addressee(ref: TopicRef, now: number): Addressee | undefined {
    const h = this.deps.store.handlerFor(ref);
    if (h && h.until > now) return { mention: mention(h.person), role: 'handling this' };
    const fr = this.current();
    return fr ? { mention: mention(fr.to), role: 'first responder' } : undefined;
  }

  /** Ends handling whose working day is over and tells each topic. */
  expireHandlers(now: number): number {
    const { store, speaker } = this.deps;
    return store.transaction(() => {
      const ended = store.handlersEndingBy(now);
      const fr = this.current()?.to;
      for (const h of ended) {
        store.removeHandler(h);
        const open = store.incidentsInTopic(h, { openOnly: true }).length + store.incidentsInTopic({ stream: h.stream, topic: resolvedTopic(h.topic) }, { openOnly: true }).length;
        if (open === 0) continue;
        speaker.say(h.stream, h.topic, `🕔 ${outside(h.person.name, { max: 100 })}'s working day has ended: reminders in this topic go to ${fr ? `the first responder ${silentMention(fr)}` : 'the first responder (none is set: `!fr @**Name**`)'} again.`);
      }
      return ended.length;
    });
  }

}
