/** Commands on open incidents: `!ongoing` everywhere, `!ack` and `!snooze` in an incident's topic. */
import { outside, topicLink } from '../../core/text';
import { isZabbixEventId } from '../../domain/event-ids';
import { formatDuration, parseSpokenDuration } from '../../domain/duration';
import type { Incident } from '../../domain/incident';
import type { SlaConfig } from '../../domain/sla';
import { formatTime } from '../../domain/time';
import { here, type Command } from '../../pipeline/commands';
import { UserFacingError } from '../../pipeline/errors';
import type { IncidentStore } from '../../store/store';
import type { IncidentLifecycle } from './lifecycle';
import { renderOngoing } from './ongoing';

/** What the `!ack` reply says about Zabbix's side of the acknowledgement. */
function zabbixText(acked: readonly Incident[], configured: boolean): string {
  if (!acked.some((i) => isZabbixEventId(i.eventId))) return '';
  return configured
    ? ' Acknowledging in Zabbix too: ✅ on your message when Zabbix has it; a failure is said here.'
    : ' Zabbix is not connected to this bot: acknowledge there too, or Zabbix keeps notifying.';
}

export interface IncidentCommandDeps {
  /** Whether the Zabbix API is configured (the acknowledgement is made there too). */
  zabbixConfigured: boolean;
  lifecycle: IncidentLifecycle;
  store: Pick<IncidentStore, 'openSummaries'>;
  sla: SlaConfig;
  timeZone: string;
}

function list(incidents: readonly Incident[]): string {
  return incidents.map((i) => `${outside(i.triggerName)} (event ${i.eventId})`).join(', ');
}

export function incidentCommands({ lifecycle, store, sla, timeZone, zabbixConfigured }: IncidentCommandDeps): Command[] {
  return [
    {
      name: 'ongoing',
      usage: '!ongoing',
      summary: 'every open incident: class, host, trigger, age, acknowledged or not, SLA time left, topic',
      where: 'anywhere',
      run: (ctx) => {
        for (const part of renderOngoing(store.openSummaries(), sla, ctx.now)) ctx.reply(part);
      },
    },
    {
      name: 'ack',
      usage: '!ack [event id] [note]',
      summary: "in an incident's topic: acknowledges its open incidents (or the one with that event id), stopping reminders",
      where: 'topic',
      run: (ctx) => {
        const m = /^(\d{1,20})(?:\s+([\s\S]*))?$/.exec(ctx.args);
        const eventId = m ? m[1] : undefined;
        const note = ((m ? m[2] : ctx.args) ?? '').trim().slice(0, 1000) || undefined;
        const ref = here(ctx);
        const r = lifecycle.acknowledgeTopic(ref, ctx.message.senderName, note, eventId, ctx.message.senderId);
        if (r.notFound) throw new UserFacingError('not-found', `No open incident with event id ${eventId} in this topic.${lifecycle.whereElse(ref)}`);
        if (r.acked.length === 0) {
          ctx.reply(r.already.length > 0 ? `Already acknowledged: ${list(r.already)} (by ${outside(r.already[0]?.acknowledgedBy ?? '?', { max: 100 })}).` : `Nothing to acknowledge: no open incident in this topic.${lifecycle.whereElse(ref)}`);
          return;
        }
        const noteText = note ? ` Note: ${outside(note, { max: 1000 })}` : '';
        const where = r.elsewhere ? ` (tracked in ${topicLink(r.elsewhere.stream, r.elsewhere.topic)})` : '';
        ctx.reply(`✅ Acknowledged by ${outside(ctx.message.senderName, { max: 100 })}: ${list(r.acked)}${where}.${noteText}${zabbixText(r.acked, zabbixConfigured)}`);
        // Zabbix is told by its module, after the commit (an after-commit job).
        ctx.emit({ kind: 'acknowledged', incidents: r.acked, by: ctx.message.senderName, ...(note ? { note } : {}), where: ref, messageId: ctx.message.id });
      },
    },
    {
      name: 'snooze',
      usage: '!snooze <duration>',
      examples: ['!snooze 30m', '!snooze 2 hours', '!snooze 1h30m', '!snooze until 14:00'],
      where: 'topic',
      summary: "in an incident's topic: pauses its reminders (e.g. `!snooze 2h`), at most until the SLA deadline",
      run: (ctx) => {
        const ms = parseSpokenDuration(ctx.args, ctx.now, timeZone);
        if (ms === undefined) throw new UserFacingError('usage', ctx.args ? `"${outside(ctx.args, { max: 40 })}" is not a duration like "30m" or "2h".` : 'Say for how long.');
        const r = lifecycle.snoozeTopic(here(ctx), ms, ctx.message.senderName);
        if (r.incidents.length === 0) {
          ctx.reply(`Nothing to snooze: no open incident in this topic.${lifecycle.whereElse(here(ctx))}`);
          return;
        }
        const capped = r.until < ctx.now + ms ? ' (capped at the SLA deadline)' : '';
        ctx.reply(`😴 Reminders in this topic paused by ${outside(ctx.message.senderName, { max: 100 })} for ${formatDuration(r.until - ctx.now)}${capped}, until ${formatTime(r.until, timeZone)}. Deadline warnings still come.`);
        ctx.emit({ kind: 'snoozed', incidents: r.incidents, by: ctx.message.senderName, where: here(ctx), until: r.until });
      },
    },
  ];
}
