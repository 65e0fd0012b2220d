/** Commands on the incidents of the topic they are typed in: !ack, !snooze. */
import { formatDuration, parseDuration } from '../../domain/duration';
import { neutralizeMentions } from '../../core/text';
import type { Incident } from '../../domain/incident';
import type { IncidentLifecycle } from './lifecycle';
import { formatTime } from '../reminders/render';
import type { Command, CommandContext } from '../../pipeline/commands';
import { UsageError } from '../../pipeline/commands';

/** Told after a chat acknowledgement (e.g. to acknowledge in Zabbix too); may report back in the topic. */
export type AckListener = (acked: Incident[], ctx: CommandContext, note: string | undefined) => void | Promise<void>;

export interface IncidentCommandDeps {
  lifecycle: IncidentLifecycle;
  ackListeners?: AckListener[];
}

function list(incidents: readonly Incident[]): string {
  return incidents.map((i) => `${neutralizeMentions(i.triggerName)} (event ${i.eventId})`).join(', ');
}

export function incidentCommands({ lifecycle, ackListeners = [] }: IncidentCommandDeps): Command[] {
  return [
    {
      name: 'ack',
      usage: '!ack [event id] [note]',
      summary: "in an incident's topic: acknowledges its open incidents (or the one with that event id), stopping reminders",
      run: async (ctx) => {
        const m = /^(\d{1,20})(?:\s+([\s\S]*))?$/.exec(ctx.args);
        const eventId = m ? m[1] : undefined;
        const note = ((m ? m[2] : ctx.args) ?? '').trim().slice(0, 1000) || undefined;
        const ref = { stream: ctx.message.stream, topic: ctx.message.topic };
        const r = lifecycle.acknowledgeTopic(ref, ctx.message.senderName, note, eventId);
        if (r.notFound) throw new UsageError(`No open incident with event id ${eventId} in this topic.`);
        if (r.acked.length === 0) {
          ctx.reply(r.already.length > 0 ? `Already acknowledged: ${list(r.already)} (by ${neutralizeMentions(r.already[0]?.acknowledgedBy ?? '?')}).` : 'Nothing to acknowledge: no open incident in this topic.');
          return;
        }
        const noteText = note ? ` Note: ${neutralizeMentions(note)}` : '';
        ctx.reply(`✅ Acknowledged by ${neutralizeMentions(ctx.message.senderName)}: ${list(r.acked)}.${noteText}`);
        for (const l of ackListeners) await l(r.acked, ctx, note);
      },
    },
    {
      name: 'snooze',
      usage: '!snooze <duration>',
      summary: "in an incident's topic: pauses its reminders (e.g. `!snooze 2h`), at most until the SLA deadline",
      run: (ctx) => {
        const ms = parseDuration(ctx.args);
        if (ms === undefined) throw new UsageError(ctx.args ? `"${neutralizeMentions(ctx.args.slice(0, 40))}" is not a duration like "30m" or "2h".` : 'Say for how long.');
        const r = lifecycle.snoozeTopic({ stream: ctx.message.stream, topic: ctx.message.topic }, ms, ctx.message.senderName);
        if (r.incidents.length === 0) {
          ctx.reply('Nothing to snooze: no open incident in this topic.');
          return;
        }
        const capped = r.until < ctx.now + ms ? ' (capped at the SLA deadline)' : '';
        ctx.reply(`😴 Reminders in this topic paused by ${neutralizeMentions(ctx.message.senderName)} for ${formatDuration(r.until - ctx.now)}${capped}, until ${formatTime(r.until)}. Deadline warnings still come.`);
      },
    },
  ];
}
