/**
 * The Zabbix side of a handover (issue 19; the process: "the acting FR … enables Zabbix calling
 * for the upcoming FR … removes the previous FR"): with `zabbix.firstResponder` naming the user
 * group Zabbix's action notifies (phone/SMS), a completed handover moves the new first
 * responder's Zabbix user into that group and the old one's out. People are matched by
 * `zabbix.users` (Zulip email → Zabbix username), else by the e-mail address of their Zabbix
 * e-mail media. An after-commit job: Zabbix being slow or down never holds the handover up; a
 * transient failure is retried (said once in the announcement's topic); what changed, or why
 * nothing could, is said there.
 */
import type { BotConfig } from '../../config/schema';
import type { Logger } from '../../core/log';
import { outside } from '../../core/text';
import type { JobHandler } from '../../pipeline/jobs';
import type { Transactional } from '../../store/store';
import { ZabbixError } from '../../zabbix/errors';
import type { ZabbixApi, ZabbixUser } from '../../zabbix/client';
import type { ZulipApi } from '../../zulip/api';
import type { Speaker } from '../../zulip/speaker';
import { ZABBIX_FR_JOB, type ZabbixFirstResponderJob } from './service';
import type { Person } from './handover';

export interface ZabbixHandoverDeps {
  zabbix: ZabbixApi;
  api: Pick<ZulipApi, 'users'>;
  speaker: Speaker;
  store: Transactional;
  config: Pick<BotConfig, 'zabbix'>;
  log: Logger;
  /** The acting first responder now: a job for an earlier handover (retried late) changes nothing. */
  currentFr?: () => Person | undefined;
}

/** The Zabbix user of a Zulip person: by the configured mapping, else by e-mail media. */
export function matchZabbixUser(email: string | undefined, users: readonly ZabbixUser[], mapping: Readonly<Record<string, string>>): { user?: ZabbixUser; why?: string } {
  if (!email) return { why: 'their Zulip user has no email address' };
  const mapped = Object.entries(mapping).find(([e]) => e.toLowerCase() === email.toLowerCase())?.[1];
  if (mapped !== undefined) {
    const u = users.find((x) => x.username.toLowerCase() === mapped.toLowerCase());
    return u ? { user: u } : { why: `zabbix.users maps ${email} to the Zabbix username \`${mapped}\`, which Zabbix does not have` };
  }
  const byMail = users.filter((u) => u.emails.some((e) => e.toLowerCase() === email.toLowerCase()));
  if (byMail.length === 1) return { user: byMail[0] as ZabbixUser };
  if (byMail.length > 1) return { why: `several Zabbix users have the e-mail ${email} (${byMail.map((u) => u.username).join(', ')}); map one in zabbix.users` };
  return { why: `no Zabbix user has an e-mail media with ${email}; add one, or map the person in zabbix.users` };
}

function who(p: Person, u: ZabbixUser): string {
  return `${outside(p.name, { max: 100 })} (Zabbix user \`${outside(u.username, { max: 60, literal: true })}\`)`;
}

export function zabbixHandoverJob(deps: ZabbixHandoverDeps): JobHandler<ZabbixFirstResponderJob> {
  const say = (job: ZabbixFirstResponderJob, text: string) => deps.store.transaction(() => deps.speaker.say(job.stream, job.topic, text));
  return {
    kind: ZABBIX_FR_JOB,
    run: async (job) => {
      const groupName = deps.config.zabbix.firstResponder;
      const z = deps.zabbix;
      if (!groupName || !z.userGroup || !z.userDirectory || !z.setUserGroupMembers) return;
      if (deps.currentFr && deps.currentFr()?.id !== job.to.id) {
        deps.log.info({ to: job.to.name }, 'a later handover superseded this Zabbix change; skipped');
        return;
      }
      const group = await z.userGroup(groupName);
      if (!group) {
        say(job, `⚠️ Zabbix: there is no user group **${outside(groupName, { max: 100 })}** (zabbix.firstResponder), so nothing changed there: make Zabbix call ${outside(job.to.name, { max: 100 })} by hand.`);
        return;
      }
      const people = await deps.api.users();
      const emailOf = (p: Person) => people.find((u) => u.id === p.id)?.email;
      const users = await z.userDirectory();
      const mapping = deps.config.zabbix.users ?? {};
      const to = matchZabbixUser(emailOf(job.to), users, mapping);
      const from = job.from ? matchZabbixUser(emailOf(job.from), users, mapping) : undefined;
      if (!to.user) {
        say(job, `⚠️ Zabbix: could not put ${outside(job.to.name, { max: 100 })} into **${outside(group.name, { max: 100 })}**: ${outside(to.why ?? '?', { max: 300 })}. Nothing changed in Zabbix${job.from ? `: it still calls ${outside(job.from.name, { max: 100 })}` : ''}.`);
        return;
      }
      const removing = from?.user && from.user.userId !== to.user.userId ? from.user : undefined;
      const members = new Set(group.userIds);
      const hadNew = members.has(to.user.userId);
      const hadOld = removing !== undefined && members.has(removing.userId);
      members.add(to.user.userId);
      if (removing) members.delete(removing.userId);
      const changed = !hadNew || hadOld;
      let oldKept: string | undefined;
      if (changed) {
        try {
          await z.setUserGroupMembers(group.groupId, [...members]);
        } catch (err) {
          if (!(err instanceof ZabbixError) || err.transient || !hadOld || !removing) throw err;
          // Zabbix refused taking the old FR out (e.g. a user must keep one group): add the new one alone.
          oldKept = err.message;
          members.add(removing.userId);
          if (!hadNew) await z.setUserGroupMembers(group.groupId, [...members]);
        }
      }
      const g = `**${outside(group.name, { max: 100 })}**`;
      const parts: string[] = [];
      parts.push(hadNew ? `${who(job.to, to.user)} was in ${g} already` : `added ${who(job.to, to.user)} to ${g}`);
      if (job.from) {
        if (from && !from.user) parts.push(`could not take ${outside(job.from.name, { max: 100 })} out: ${outside(from.why ?? '?', { max: 300 })} — remove them by hand`);
        else if (oldKept && removing) parts.push(`could not take ${who(job.from, removing)} out (${outside(oldKept, { max: 300 })}) — remove them by hand`);
        else if (removing && hadOld) parts.push(`took ${who(job.from, removing)} out`);
        else if (removing) parts.push(`${who(job.from, removing)} was not in it`);
      }
      const calls = oldKept || (from && !from.user) ? '' : ` Zabbix calls ${outside(job.to.name, { max: 100 })} from now on.`;
      say(job, `📞 Zabbix: ${parts.join('; ')}.${calls}`);
      deps.log.info({ group: group.name, to: to.user.username, from: removing?.username, changed }, 'first responder moved in Zabbix');
    },
    reportFailure: (job, err) => {
      deps.log.warn({ err: err.message }, 'moving the first responder in Zabbix failed; retrying');
      deps.speaker.say(job.stream, job.topic, `⚠️ Zabbix: could not move the first responder's Zabbix user yet (${outside(err.message, { max: 300 })}); I keep trying until Zabbix answers.`);
    },
    giveUp: (job, err) => {
      deps.speaker.say(job.stream, job.topic, `⚠️ Zabbix: gave up moving ${outside(job.to.name, { max: 100 })} into the first-responder user group (${outside(err.message, { max: 300 })}): do it by hand (Zabbix > Administration > User groups).`);
    },
    maxAttempts: 30,
  };
}
