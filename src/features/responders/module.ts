/**
 * First responder: `!fr`, `!handover` (limited to `firstResponder.group` when set: the `fr-group`
 * precondition), `!handling` / `!release`, and the end of a handler's working day (tick).
 */
import type { BotModule } from '../../pipeline/module';
import { responderCommands } from './commands';
import type { ResponderService } from './service';

export function respondersModule(service: ResponderService, timeZone: string): BotModule {
  return {
    name: 'responders',
    commands: responderCommands(service, timeZone),
    preconditions: { 'fr-group': (ctx) => service.refusal(ctx.message.senderId) },
    tick: (now) => {
      service.expireHandlers(now);
    },
  };
}
