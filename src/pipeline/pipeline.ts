/**
 * The one pipeline every Zulip event goes through:
 *   1. route: the bot's own messages and other streams are dropped; posts of the alert senders
 *      are alerts; `!name args` is a command;
 *   2. an alert's state change is stored (the intake), or a command runs (the dispatcher);
 *   3. every module's hook runs inside its own error boundary, in the modules' order: a failing
 *      hook is logged with the module and hook name and counted, and the others still run.
 * A store failure (StoreError, src/store/errors.ts) is not a module's failure: the boundaries of
 * the message path let it through to the event poller, which stops intake and handles the
 * message again once the store works (never skipped); the scheduler's, cron's and health's
 * boundaries leave it to the store watch (src/store/watch.ts), which logs and says it once.
 * The scheduler's tick, cron jobs and health go through the same boundaries.
 */
import type { Clock } from '../core/clock';
import type { Logger } from '../core/log';
import type { ZabbixAlert } from '../domain/alert';
import { isStoreError } from '../store/errors';
import type { AlertOutcome, Incident, IncidentChange, TopicRef } from '../domain/incident';
import { parseAlert } from '../zabbix/parse-alert';
import type { DirectMessage, Reaction, StreamMessage, TopicMove } from '../zulip/api';
import type { EventSink } from '../zulip/event-poller';
import type { Speaker } from '../zulip/speaker';
import { addressedCommand, CommandRegistry, whereOf, type Precondition } from './commands';
import { Dispatcher } from './dispatcher';
import type { JobQueue } from './jobs';
import type { BotModule, HookName, ModuleHealth } from './module';

/** The incidents' state changes the pipeline itself asks for (src/features/incidents/intake.ts). */
export interface Intake {
  /** Stores what the alert does to its incident; called inside the alert's transaction (the pipeline's, with the modules' hooks). */
  alert(alert: ZabbixAlert, message: StreamMessage): AlertOutcome;
  /**
   * A tracked alert post edited: what it says now, applied as if posted (an edit to OK resolves).
   * Undefined when the message is no tracked alert post.
   */
  alertEdited(messageId: number, content: string): { alert: ZabbixAlert; outcome: AlertOutcome; message: StreamMessage } | undefined;
  /** Tracked alert posts deleted: their open incidents are resolved (said in the topic). */
  alertsDeleted(messageIds: readonly number[]): void;
  /** A post from an alert sender that is not a readable alert: said in its topic, never dropped silently. */
  unreadable(message: StreamMessage, reason: string): void;
  /** Follows a topic rename or move; returns the incidents that moved (stored under `to`). */
  topicMoved(from: TopicRef, to: TopicRef): Incident[];
}

export interface PipelineDeps {
  modules: readonly BotModule[];
  intake: Intake;
  /** Names of the streams the bot reads: the SRE streams. */
  streams: readonly string[];
  /** Emails of the alert senders (the Zabbix webhook bots). */
  alertSenders: readonly string[];
  clock: Clock;
  log: Logger;
  speaker: Speaker;
  jobs: JobQueue;
  transaction<T>(fn: () => T): T;
  /** The bot's own Zulip user id: its own messages are ignored. */
  selfId: number;
  /** The bot's full name: a message starting with its mention is a command. */
  selfName?: string;
  streamName: (id: number) => Promise<string | undefined>;
  learnStream?: (id: number, name: string) => void;
  /** Stores the bot's position (the last handled message id), inside the caller's transaction. */
  markHandled?: (messageId: number) => void;
  /** A hook failed (metrics). */
  onHookError?: (module: string, hook: HookName) => void;
  /**
   * Whether a Zulip user is a bot (cached by the caller): reactions by bots are not handed to the
   * modules. Absent: only the bot's own reactions are dropped.
   */
  isBot?: (userId: number) => Promise<boolean>;
}

export class Pipeline implements EventSink {
  readonly registry = new CommandRegistry();
  readonly dispatcher: Dispatcher;
  readonly stats = { alerts: 0, malformedAlerts: 0, commands: 0, ignoredOk: 0, hookErrors: 0 };
  private readonly sreStreams: Set<string>;
  private readonly senders: Set<string>;

  constructor(private readonly deps: PipelineDeps) {
    this.sreStreams = new Set(deps.streams);
    this.senders = new Set(deps.alertSenders.map((e) => e.toLowerCase()));
    const preconditions = new Map<string, Precondition>();
    for (const m of deps.modules) {
      this.registry.add(...(m.commands ?? []));
      for (const [name, check] of Object.entries(m.preconditions ?? {})) {
        if (preconditions.has(name)) throw new Error(`precondition ${name} declared twice (module ${m.name})`);
        preconditions.set(name, check);
      }
    }
    this.dispatcher = new Dispatcher({
      registry: this.registry,
      preconditions,
      clock: deps.clock,
      log: deps.log,
      jobs: deps.jobs,
      transaction: deps.transaction,
      publish: (change, jobs) => this.publish(change, jobs),
    });
  }

  /** The streams whose messages the bot reads (and reads back after downtime). */
  get streams(): string[] {
    return [...this.sreStreams];
  }

  async onMessage(m: StreamMessage): Promise<void> {
    this.deps.learnStream?.(m.streamId, m.stream);
    if (m.senderId === this.deps.selfId) return;
    if (!this.sreStreams.has(m.stream)) {
      if (this.senders.has(m.senderEmail.toLowerCase())) this.deps.log.warn({ messageId: m.id, stream: m.stream, topic: m.topic }, 'alert sender posted outside the SRE streams; not tracked (add the stream to streams.* or fix the Zabbix media type)');
      return;
    }
    if (this.senders.has(m.senderEmail.toLowerCase())) return this.onAlertPost(m);
    const cmd = this.command(m.content, false);
    if (cmd) {
      this.stats.commands++;
      await this.dispatcher.dispatch({
        message: m,
        topic: { stream: m.stream, topic: m.topic },
        name: cmd.name,
        args: cmd.args,
        send: (content) => this.deps.speaker.say(m.stream, m.topic, content, 'reply'),
        markHandled: () => this.deps.markHandled?.(m.id),
      });
    }
    await this.each('onMessage', (mod) => mod.onMessage?.(m));
  }

  /** Direct messages: commands that run anywhere are answered privately; the rest point to the SRE streams. */
  async onDirectMessage(dm: DirectMessage): Promise<void> {
    if (dm.senderId === this.deps.selfId) return;
    const send = (content: string) => this.deps.speaker.tell([dm.senderEmail], content);
    const cmd = this.command(dm.content, true);
    if (!cmd) {
      send(`I answer read-only commands here (${this.dispatcher.directCommands()}); everything else goes in the SRE streams.`);
      return;
    }
    this.stats.commands++;
    await this.dispatcher.dispatch({ message: dm, name: cmd.name, args: cmd.args, send });
  }

  /**
   * A person's read-only command (one that runs anywhere, direct messages included: `!ongoing`,
   * `!fr`, `!help`…): its answer depends on no earlier message, so the event poller may answer it
   * ahead of alerts queued before it (humans first, issue 17).
   */
  readOnlyCommand(m: StreamMessage | DirectMessage): boolean {
    if (m.senderId === this.deps.selfId || this.senders.has(m.senderEmail.toLowerCase())) return false;
    const direct = !('stream' in m);
    if (!direct && !this.sreStreams.has(m.stream)) return false;
    const c = this.command(m.content, direct);
    const cmd = c && this.registry.get(c.name);
    return cmd !== undefined && whereOf(cmd, c?.args ?? '') === 'anywhere';
  }

  /** An alert post edited (e.g. to OK): handled as what it says now; modules hear it as an alert. */
  async onMessageEdit(edit: { messageId: number; content: string; byUserId?: number }): Promise<void> {
    if (edit.byUserId === this.deps.selfId) return; // the bot's own edits (its cards)
    const r = this.deps.intake.alertEdited(edit.messageId, edit.content);
    if (!r) return;
    await this.each('onAlert', (mod) => mod.onAlert?.(r));
  }

  async onMessagesDeleted(messageIds: number[]): Promise<void> {
    this.deps.intake.alertsDeleted(messageIds);
  }

  /** The command a message asks for, if any (see addressedCommand); `?x` and bare words only when x is a command. */
  private command(content: string, direct: boolean): { name: string; args: string } | undefined {
    const c = addressedCommand(content, { ...(this.deps.selfName ? { selfName: this.deps.selfName } : {}), direct });
    if (!c || (!c.explicit && !this.registry.get(c.name))) return undefined;
    return c;
  }

  async onTopicMove(move: TopicMove): Promise<void> {
    const fromStream = await this.deps.streamName(move.fromStreamId);
    const toStream = move.toStreamId === move.fromStreamId ? fromStream : await this.deps.streamName(move.toStreamId);
    if (fromStream === undefined || toStream === undefined) {
      this.deps.log.warn({ move }, 'topic moved between streams the bot cannot name; not followed');
      return;
    }
    await this.followMove({ stream: fromStream, topic: move.fromTopic }, { stream: toStream, topic: move.toTopic }, move.byUserId);
  }

  /** A topic renamed or moved (live, or found by the reconcile): the intake, then every module's hook. */
  async followMove(from: TopicRef, to: TopicRef, byUserId: number | undefined): Promise<void> {
    if (from.stream === to.stream && from.topic === to.topic) return;
    const incidents = this.deps.intake.topicMoved(from, to);
    if (incidents.length === 0) return;
    this.deps.log.info({ from, to, incidents: incidents.length }, 'followed a topic rename');
    await this.each('onTopicMove', (mod) => mod.onTopicMove?.({ from, to, incidents, byUserId }));
  }

  /**
   * An emoji reaction: every module's `onReaction`, each in its own boundary. The bot's own
   * reactions (its ✅ confirmations) and reactions by other bots are dropped here. Which message
   * it is on (an alert post, one of the bot's) the modules find out, off the message path.
   */
  async onReaction(r: Reaction): Promise<void> {
    if (r.userId === this.deps.selfId) return;
    if (this.deps.isBot) {
      let bot = false;
      try {
        bot = await this.deps.isBot(r.userId);
      } catch (err) {
        // Zulip could not say: treated as a person's (a bot's reaction acting is the lesser harm than a person's lost).
        this.deps.log.warn({ err: (err as Error).message, userId: r.userId }, 'cannot tell whether a reacting user is a bot; taken as a person');
      }
      if (bot) return;
    }
    await this.each('onReaction', (mod) => mod.onReaction?.({ ...r, emit: (change) => this.emit(change) }));
  }

  /**
   * Tells every module what changed outside a command (a hook, a job, the Zabbix sync), as a
   * command's `ctx.emit` does: call it inside the transaction of the change, so the jobs the
   * modules queue for it (the Zabbix acknowledgement) commit with it.
   */
  emit(change: IncidentChange): void {
    this.publish(change, this.deps.jobs);
  }

  /** The scheduler's round: each module's tick in its own boundary. */
  tick(now: number): void {
    for (const mod of this.deps.modules) if (mod.tick) this.guard(mod, 'tick', () => mod.tick?.(now));
  }

  /** Every module's health, by module name; `ok` is false when any module says so. */
  health(): { ok: boolean; modules: Record<string, ModuleHealth> } {
    const modules: Record<string, ModuleHealth> = {};
    let ok = true;
    for (const mod of this.deps.modules) {
      if (!mod.health) continue;
      try {
        modules[mod.name] = mod.health() as ModuleHealth;
      } catch (err) {
        if (isStoreError(err)) this.storeDeferred(mod, 'health', err);
        else this.failed(mod, 'health', err);
        modules[mod.name] = { ok: false, error: (err as Error).message };
      }
      if (modules[mod.name]?.ok === false) ok = false;
    }
    return { ok, modules };
  }

  /** Runs a module's cron job inside its boundary. */
  runCron(mod: BotModule, run: () => void): void {
    this.guard(mod, 'cron', run);
  }

  /**
   * A synchronous hook's boundary (tick, cron). A hook that returns a promise anyway (an `async`
   * function) has its rejection caught too: it never escapes as an unhandled rejection. What the
   * store could not serve is done again next time.
   */
  private guard(mod: BotModule, hook: HookName, call: () => unknown): void {
    const fail = (err: unknown) => (isStoreError(err) ? this.storeDeferred(mod, hook, err) : this.failed(mod, hook, err));
    try {
      const r = call();
      if (r instanceof Promise) r.catch(fail);
    } catch (err) {
      fail(err);
    }
  }

  private async onAlertPost(m: StreamMessage): Promise<void> {
    const parsed = parseAlert(m.content);
    if (!parsed.ok) {
      this.stats.malformedAlerts++;
      this.deps.log.warn({ messageId: m.id, stream: m.stream, topic: m.topic, reason: parsed.reason }, 'post from an alert sender is not a Zabbix alert; not tracked');
      this.deps.intake.unreadable(m, parsed.reason);
      return;
    }
    const alert = parsed.alert;
    // The alert's state and what the modules do about it in one transaction, one commit per alert
    // rather than one per module (a storm's cost), as long as the hooks answer synchronously: from
    // the first that returns a promise on, the rest run after it, each on its own. A store failure
    // undoes it all; the poller hands the same alert again.
    const modules = this.deps.modules;
    let from = modules.length;
    let waiting: Promise<void> | undefined;
    const outcome = this.deps.transaction(() => {
      const o = this.deps.intake.alert(alert, m);
      for (let i = 0; i < modules.length; i++) {
        const mod = modules[i] as BotModule;
        try {
          const r = mod.onAlert?.({ alert, outcome: o, message: m });
          if (r instanceof Promise) {
            waiting = r;
            from = i + 1;
            break;
          }
        } catch (err) {
          if (isStoreError(err)) throw err; // to the poller: the message is handled again, not skipped
          this.failed(mod, 'onAlert', err);
        }
      }
      // Every hook done: the position moves past the alert in the same commit (not in a commit
      // of its own after the batch). With a hook still running, the batch's flush stores it.
      if (!waiting) this.deps.markHandled?.(m.id);
      return o;
    });
    this.stats.alerts++;
    if (outcome.kind === 'ignored') this.stats.ignoredOk++;
    if (!waiting) return;
    try {
      await waiting;
    } catch (err) {
      if (isStoreError(err)) throw err;
      this.failed(modules[from - 1] as BotModule, 'onAlert', err);
    }
    await this.each('onAlert', (mod) => mod.onAlert?.({ alert, outcome, message: m }), from);
  }

  private publish(change: IncidentChange, jobs: JobQueue): void {
    for (const mod of this.deps.modules) {
      if (!mod.onIncidentChange) continue;
      try {
        const r: unknown = mod.onIncidentChange(change, jobs);
        if (r instanceof Promise) r.catch((err: unknown) => this.failed(mod, 'onIncidentChange', err));
      } catch (err) {
        if (isStoreError(err)) throw err; // the whole commit fails; the poller handles the message again
        this.failed(mod, 'onIncidentChange', err);
      }
    }
  }

  /** Runs one hook of every module, each inside its own error boundary. */
  private async each(hook: HookName, call: (mod: BotModule) => void | Promise<void>, from = 0): Promise<void> {
    for (const mod of this.deps.modules.slice(from)) {
      try {
        await call(mod);
      } catch (err) {
        if (isStoreError(err)) throw err; // to the poller: the message is handled again, not skipped
        this.failed(mod, hook, err);
      }
    }
  }

  /** A tick, cron job or health check the store could not serve: done again next time; the store watch reports the outage. */
  private storeDeferred(mod: BotModule, hook: HookName, err: Error): void {
    this.deps.log.debug({ err: err.message, module: mod.name, hook }, `module ${mod.name}: ${hook} deferred: the store cannot serve it`);
  }

  private failed(mod: BotModule, hook: HookName, err: unknown): void {
    this.stats.hookErrors++;
    this.deps.log.error({ err, module: mod.name, hook }, `module ${mod.name}: ${hook} failed`);
    this.deps.onHookError?.(mod.name, hook);
  }
}
