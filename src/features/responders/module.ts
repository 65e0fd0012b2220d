/**
 * First responder: `!fr`, `!handover` (limited to `firstResponder.group` when set: the `fr-group`
 * precondition), `!handling` / `!release`, and the end of a handler's working day (tick).
 * Acting over the first responder's head — `!handling` a topic, `!handover … force` — needs the
 * acting first responder or a member of `firstResponder.group` (`fr-or-group`, `fr-or-group-to-force`).
 */
import type { BotModule } from '../../pipeline/module';
import { isForced, responderCommands } from './commands';
import type { ResponderService } from './service';

export function respondersModule(service: ResponderService, timeZone: string): BotModule {
  return {
    name: 'responders',
    commands: responderCommands(service, timeZone),
    preconditions: {
      'fr-group': (ctx) => service.refusal(ctx.message.senderId),
      'fr-or-group': (ctx) => service.actingOrGroupRefusal(ctx.message.senderId, 'take over a topic with `!handling`'),
      'fr-or-group-to-force': (ctx) => (isForced(ctx.args) ? service.actingOrGroupRefusal(ctx.message.senderId, 'force a handover') : undefined),
    },
    tick: (now) => {
      service.expireHandlers(now);
    },
  };
}
