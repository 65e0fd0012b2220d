/** Reports: `!sla`, the weekly SLA report (cron), `!postmortem` drafts (an after-commit job). */
import type { BotModule } from '../../pipeline/module';
import { postmortemJob, reportCommands, reportWindow, slaReportText, type ReportDeps } from './commands';

export function reportsModule(d: ReportDeps & { weeklyCron: string; reportTopic: string; generalStream: string }): BotModule {
  return {
    name: 'reports',
    commands: reportCommands(d),
    jobs: [postmortemJob(d)],
    cron: [
      {
        name: 'weekly SLA report',
        expression: d.weeklyCron,
        run: (now) => {
          const w = reportWindow('week', now);
          if (w) d.speaker.say(d.generalStream, d.reportTopic, slaReportText(d.store, d.config.timezone, w), 'bulk'); // a digest
        },
      },
    ],
  };
}
