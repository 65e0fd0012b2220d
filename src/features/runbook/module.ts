/**
 * Help at 3 a.m.: runbook hints and the client prompt when a problem opens, the several-hosts
 * notice (tick), `!recheck` (needs Zabbix: the `zabbix` precondition).
 */
import { UserFacingError } from '../../pipeline/errors';
import type { BotModule } from '../../pipeline/module';
import type { RunbookAdvisor } from './advisor';
import { runbookCommands } from './commands';
import { NO_ZABBIX_TEXT, type RecheckService } from './recheck';

export function runbookModule(advisor: RunbookAdvisor, recheck: RecheckService): BotModule {
  return {
    name: 'runbook',
    commands: runbookCommands(recheck),
    preconditions: { zabbix: () => (recheck.configured ? undefined : new UserFacingError('unavailable', NO_ZABBIX_TEXT)) },
    onAlert: (e) => advisor.onAlert(e),
    onTopicMove: ({ from, to }) => advisor.onTopicMove(from, to),
    tick: (now) => advisor.tick(now),
  };
}
