/**
 * First responder: `!fr`, `!handover` (two-party: the other side confirms, or ✅ on the request;
 * limited to `firstResponder.group` when set: the `fr-group` precondition), `!handling` /
 * `!release` (a topic, an area, hosts), and on the tick: the end of a handler's working day,
 * the expiry of an unconfirmed handover request, the caches reminders read (Zulip users for
 * mentions, Zabbix host groups for areas). Acting over the first responder's head —
 * `!handling`, `!handover … force` — needs the acting first responder or a member of
 * `firstResponder.group` (`fr-or-group`, `fr-or-group-to-force`); `!handling list` needs nobody.
 * Jobs: the Zabbix side of a completed handover, and a ✅ on a request (checked off the message path).
 */
import type { BotModule } from '../../pipeline/module';
import type { JobHandler } from '../../pipeline/jobs';
import { isForced, responderCommands } from './commands';
import { HANDOVER_REACTION_JOB, type HandoverReactionJob, type ResponderService } from './service';
import type { HostGroupCache } from './areas';
import type { PeopleDirectory } from './people';

export interface RespondersModuleOptions {
  /** Host groups for areas (only when an area names host groups and Zabbix is configured). */
  hostGroups?: HostGroupCache;
  people?: PeopleDirectory;
  /** The Zabbix side of a handover (./zabbix-handover.ts), when configured. */
  zabbixJob?: JobHandler<never>;
}

export function respondersModule(service: ResponderService, timeZone: string, opts: RespondersModuleOptions = {}): BotModule {
  const reactionJob: JobHandler<HandoverReactionJob> = {
    kind: HANDOVER_REACTION_JOB,
    run: (job) => service.confirmByReaction(job),
    maxAttempts: 5,
  };
  return {
    name: 'responders',
    commands: responderCommands(service, timeZone),
    preconditions: {
      'fr-group': (ctx) => service.refusal(ctx.message.senderId),
      'fr-or-group': (ctx) => {
        // Reading who handles what needs nobody's permission.
        let listing = false;
        try {
          const t = service.handlingTarget(ctx.topic, ctx.args);
          listing = t.kind === 'list' || t.kind === 'all';
        } catch {
          // a bad area or pattern: the command says so once the person may use it
        }
        return listing ? undefined : service.actingOrGroupRefusal(ctx.message.senderId, 'take over a topic with `!handling`');
      },
      'fr-or-group-to-force': (ctx) => (isForced(ctx.args) ? service.actingOrGroupRefusal(ctx.message.senderId, 'force a handover') : undefined),
    },
    jobs: [reactionJob as JobHandler<never>, ...(opts.zabbixJob ? [opts.zabbixJob] : [])],
    onAlert: (e) => {
      if (e.outcome.kind === 'opened' || e.outcome.kind === 'reopened') opts.hostGroups?.soon();
    },
    onReaction: (e) => service.onReaction(e),
    tick: (now) => {
      service.expireHandlers(now);
      service.expirePending(now);
      opts.people?.maybeRefresh(now);
      opts.hostGroups?.maybeRefresh(now);
    },
  };
}
