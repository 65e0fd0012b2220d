/**
 * The bot's event handling: which posts are alerts, which are commands, and what each does to
 * the incidents. Every dependency comes in as a parameter; src/main.ts wires the real ones.
 */
import type { Command, CommandRegistry } from './commands';
import { parseCommand, UsageError } from './commands';
import type { BotConfig } from '../config/schema';
import type { Clock } from '../core/clock';
import type { Logger } from '../core/log';
import { applyAlert, type AlertOutcome, type Incident, type TopicRef } from '../domain/incident';
import { schedule } from '../domain/timers';
import type { Store } from '../store/store';
import { parseAlert } from '../zabbix/parse-alert';
import type { ZabbixAlert } from '../domain/alert';
import type { DirectMessage, StreamMessage, TopicMove } from '../zulip/api';
import type { EventSink } from '../zulip/event-poller';
import type { Speaker } from '../zulip/speaker';

export interface AlertEvent {
  alert: ZabbixAlert;
  outcome: AlertOutcome;
  message: StreamMessage;
}

/** Reacts to what happened to an incident (reminders, workflows); runs after the state is stored. */
export type AlertListener = (e: AlertEvent) => void | Promise<void>;
/** Sees every message in the SRE streams that is not an alert (commands included, after they ran). */
export type MessageListener = (m: StreamMessage) => void | Promise<void>;
export type TopicMoveListener = (from: TopicRef, to: TopicRef, incidents: Incident[], byUserId: number | undefined) => void | Promise<void>;

export interface BotDeps {
  config: BotConfig;
  store: Store;
  clock: Clock;
  log: Logger;
  speaker: Speaker;
  commands: CommandRegistry;
  /** The bot's own Zulip user id: its own messages are ignored. */
  selfId: number;
  streamName: (id: number) => Promise<string | undefined>;
  learnStream?: (id: number, name: string) => void;
  /** Stores the bot's position (the last handled message id), inside the caller's transaction. */
  markHandled?: (messageId: number) => void;
}

export class Bot implements EventSink {
  readonly alertListeners: AlertListener[] = [];
  readonly messageListeners: MessageListener[] = [];
  readonly topicMoveListeners: TopicMoveListener[] = [];
  readonly stats = { alerts: 0, malformedAlerts: 0, commands: 0, ignoredOk: 0 };
  private readonly sreStreams: Set<string>;
  private readonly senders: Set<string>;

  constructor(private readonly deps: BotDeps) {
    const s = deps.config.streams;
    this.sreStreams = new Set([s.critical, s.nonCritical, s.informational, s.general]);
    this.senders = new Set(deps.config.alerts.senders.map((e) => e.toLowerCase()));
  }

  /** The streams whose messages the bot reads (and reads back after downtime). */
  get streams(): string[] {
    return [...this.sreStreams];
  }

  async onMessage(m: StreamMessage): Promise<void> {
    this.deps.learnStream?.(m.streamId, m.stream);
    if (m.senderId === this.deps.selfId) return;
    if (!this.sreStreams.has(m.stream)) return;
    if (this.senders.has(m.senderEmail.toLowerCase())) return this.onAlertPost(m);
    const cmd = parseCommand(m.content);
    if (cmd) await this.onCommand(m, cmd.name, cmd.args);
    for (const l of this.messageListeners) await l(m);
  }

  private async onAlertPost(m: StreamMessage): Promise<void> {
    const parsed = parseAlert(m.content);
    if (!parsed.ok) {
      this.stats.malformedAlerts++;
      this.deps.log.warn({ messageId: m.id, stream: m.stream, topic: m.topic, reason: parsed.reason }, 'post from an alert sender is not a Zabbix alert; not tracked');
      return;
    }
    const alert = parsed.alert;
    const { store } = this.deps;
    const outcome = store.transaction(() => {
      const result = applyAlert(store.getIncident(alert.eventId), alert, {
        messageId: m.id,
        at: m.timestamp * 1000,
        stream: m.stream,
        topic: m.topic,
        senderName: m.senderName,
      });
      if (result.kind === 'ignored' || result.kind === 'replayed') return result;
      const incident = schedule(result.incident, this.deps.config.sla);
      store.putIncident(incident, result.log);
      return { ...result, incident };
    });
    this.stats.alerts++;
    if (outcome.kind === 'replayed') {
      this.deps.log.info({ messageId: m.id, eventId: alert.eventId }, 'alert post handled before (replay after a restart); nothing changes');
    } else if (outcome.kind === 'ignored') {
      this.stats.ignoredOk++;
      this.deps.log.info({ messageId: m.id, eventId: alert.eventId, reason: outcome.reason }, 'alert changes nothing');
    } else {
      this.deps.log.info(
        { messageId: m.id, eventId: alert.eventId, outcome: outcome.kind, class: alert.incidentClass, host: alert.host },
        `alert ${outcome.kind}: ${alert.host}: ${alert.triggerName}`,
      );
    }
    for (const l of this.alertListeners) await l({ alert, outcome, message: m });
  }

  private async onCommand(m: StreamMessage, name: string, args: string): Promise<void> {
    const reply = (content: string) => this.deps.speaker.say(m.stream, m.topic, content);
    const cmd = this.deps.commands.get(name);
    this.stats.commands++;
    if (!cmd) {
      this.deps.log.info({ messageId: m.id, command: name }, 'unknown command');
      reply(this.deps.commands.unknownText(name));
      return;
    }
    await this.runCommand(m, cmd, args, reply);
  }

  /** The command's error boundary: a usage problem gets the usage line, a failure is logged and said. */
  private async runCommand(m: StreamMessage, cmd: Command, args: string, send: (content: string) => void): Promise<void> {
    const name = cmd.name;
    this.deps.log.info({ messageId: m.id, command: name, by: m.senderEmail }, `command !${name}`);
    // Replies are held until the command is done, then queued together with the bot's position in
    // one transaction: a crash before that replays the command, a crash after it cannot answer twice.
    // (Replies a command makes later, from background work, go out directly.)
    let held: string[] | undefined = [];
    const reply = (content: string) => (held ? held.push(content) : send(content));
    try {
      await cmd.run({ message: m, args, now: this.deps.clock.now(), reply });
    } catch (err) {
      if (err instanceof UsageError) {
        reply(`${err.detail}\nUsage: \`${cmd.usage}\``);
      } else {
        this.deps.log.error({ err, messageId: m.id, command: name }, 'command failed');
        reply(`Sorry, \`!${name}\` failed with an internal error (logged). Usage: \`${cmd.usage}\``);
      }
    }
    const replies = held;
    held = undefined;
    this.deps.store.transaction(() => {
      for (const r of replies) send(r);
      this.deps.markHandled?.(m.id);
    });
  }

  /** Direct messages: read-only commands are answered privately; the rest point to the SRE streams. */
  async onDirectMessage(dm: DirectMessage): Promise<void> {
    if (dm.senderId === this.deps.selfId) return;
    const reply = (content: string) => this.deps.speaker.tell([dm.senderEmail], content);
    const cmd = parseCommand(dm.content);
    const readOnlyNames = this.deps.commands
      .all()
      .filter((c) => c.readOnly)
      .map((c) => `\`!${c.name}\``)
      .join(', ');
    if (!cmd) {
      reply(`I answer read-only commands here (${readOnlyNames}); everything else goes in the SRE streams.`);
      return;
    }
    const c = this.deps.commands.get(cmd.name);
    const allowed = c && (typeof c.readOnly === 'function' ? c.readOnly(cmd.args) : c.readOnly === true);
    if (!c || !allowed) {
      this.deps.log.info({ messageId: dm.id, command: cmd.name }, 'command refused in a direct message');
      reply(c ? `\`!${cmd.name}${cmd.args ? ' …' : ''}\` changes state: type it in an SRE stream, in the incident's topic. Here I answer ${readOnlyNames}.` : this.deps.commands.unknownText(cmd.name));
      return;
    }
    const asStream: StreamMessage = { ...dm, streamId: 0, stream: '', topic: '', client: '' };
    await this.runCommand(asStream, c, cmd.args, reply);
  }

  async onTopicMove(move: TopicMove): Promise<void> {
    const fromStream = await this.deps.streamName(move.fromStreamId);
    const toStream = move.toStreamId === move.fromStreamId ? fromStream : await this.deps.streamName(move.toStreamId);
    if (fromStream === undefined || toStream === undefined) {
      this.deps.log.warn({ move }, 'topic moved between streams the bot cannot name; not followed');
      return;
    }
    const from = { stream: fromStream, topic: move.fromTopic };
    const to = { stream: toStream, topic: move.toTopic };
    if (from.stream === to.stream && from.topic === to.topic) return;
    const { store } = this.deps;
    const moved = store.transaction(() => {
      const incidents = store.incidentsInTopic(from);
      if (incidents.length === 0) return [];
      store.moveTopic(from, to);
      const at = this.deps.clock.now();
      for (const i of incidents) store.addLog({ eventId: i.eventId, at, kind: 'moved', detail: `${from.stream} > ${from.topic} → ${to.stream} > ${to.topic}` });
      return incidents.map((i) => ({ ...i, ...to }));
    });
    if (moved.length === 0) return;
    this.deps.log.info({ from, to, incidents: moved.length }, 'followed a topic rename');
    for (const l of this.topicMoveListeners) await l(from, to, moved, move.byUserId);
  }
}
