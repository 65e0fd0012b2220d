/**
 * Runs one command: finds it, checks where it may run and its preconditions, runs it, renders a
 * UserFacingError, apologises for anything else, and commits what it said, the jobs it queued and
 * the bot's position in one transaction (a crash before replays the command; after, it cannot
 * answer twice).
 */
import type { Clock } from '../core/clock';
import type { Logger } from '../core/log';
import type { IncidentChange, TopicRef } from '../domain/incident';
import { isStoreError } from '../store/errors';
import { CommandRegistry, whereOf, type Command, type CommandContext, type IncomingMessage, type Precondition } from './commands';
import { UserFacingError } from './errors';
import type { JobQueue } from './jobs';

export interface DispatcherDeps {
  registry: CommandRegistry;
  preconditions: ReadonlyMap<string, Precondition>;
  clock: Clock;
  log: Logger;
  jobs: JobQueue;
  transaction<T>(fn: () => T): T;
  /** Tells the modules what a command changed (inside the commit). */
  publish(change: IncidentChange, jobs: JobQueue): void;
}

export interface Invocation {
  message: IncomingMessage;
  /** Absent for a direct message. */
  topic?: TopicRef;
  name: string;
  args: string;
  /** Sends one reply where the command was typed (into the outbox). */
  send(content: string): void;
  /** Stores the bot's position; part of the commit. */
  markHandled?(): void;
}

export class Dispatcher {
  constructor(private readonly deps: DispatcherDeps) {}

  /** The commands a direct message may run. */
  directCommands(): string {
    return this.deps.registry
      .all()
      .filter((c) => whereOf(c, '') === 'anywhere')
      .map((c) => `\`!${c.name}\``)
      .join(', ');
  }

  async dispatch(inv: Invocation): Promise<void> {
    const { registry, log } = this.deps;
    const cmd = registry.get(inv.name);
    if (!cmd) {
      log.info({ messageId: inv.message.id, command: inv.name }, 'unknown command');
      this.commit(inv, [registry.unknownText(inv.name)], [], []);
      return;
    }
    log.info({ messageId: inv.message.id, command: cmd.name, by: inv.message.senderEmail }, `command !${cmd.name}`);
    // Replies are held until the command is done; what it says later (background work) goes out directly.
    let held: string[] | undefined = [];
    const replies = held;
    const jobs: { kind: string; payload: unknown }[] = [];
    const changes: IncidentChange[] = [];
    const ctx: CommandContext = {
      message: inv.message,
      ...(inv.topic ? { topic: inv.topic } : {}),
      args: inv.args,
      now: this.deps.clock.now(),
      reply: (content) => (held ? held.push(content) : inv.send(content)),
      enqueue: (kind, payload) => jobs.push({ kind, payload }),
      emit: (change) => changes.push(change),
    };
    let committed = false;
    try {
      const refusal = this.placeRefusal(cmd, inv) ?? (await this.preconditionRefusal(cmd, ctx));
      if (refusal) throw refusal;
      // A synchronous command's state changes, its replies, jobs and the position are one
      // transaction: a crash or a failure in between can neither keep the change without its
      // jobs (a lost Zabbix acknowledgement) nor answer twice. An async command (one that waits on
      // Zulip) commits its own changes; its replies and jobs are committed when it is done.
      let pending: Promise<void> | undefined;
      this.deps.transaction(() => {
        const r = cmd.run(ctx);
        if (r instanceof Promise) {
          pending = r;
          return;
        }
        held = undefined;
        this.commitInside(inv, replies, jobs, changes);
        committed = true;
      });
      if (pending) await pending;
    } catch (err) {
      // The store failed, not the command: no apology; the event poller runs it again once the store works.
      if (isStoreError(err)) throw err;
      if (err instanceof UserFacingError) {
        log.info({ messageId: inv.message.id, command: cmd.name, code: err.code }, 'command refused');
        replies.push(err.render(cmd.usage));
      } else {
        log.error({ err, messageId: inv.message.id, command: cmd.name }, 'command failed');
        replies.push(`Sorry, \`!${cmd.name}\` failed with an internal error (logged). Usage: \`${cmd.usage}\``);
      }
      // What a failed command queued or changed is not kept: only its answer goes out.
      jobs.length = 0;
      changes.length = 0;
    }
    if (committed) return;
    held = undefined;
    this.commit(inv, replies, jobs, changes);
  }

  private placeRefusal(cmd: Command, inv: Invocation): UserFacingError | undefined {
    if (inv.topic || whereOf(cmd, inv.args) === 'anywhere') return undefined;
    return new UserFacingError(
      'wrong-place',
      `\`!${cmd.name}${inv.args ? ' …' : ''}\` changes state: type it in an SRE stream, in the incident's topic. Here I answer ${this.directCommands()}.`,
    );
  }

  private async preconditionRefusal(cmd: Command, ctx: CommandContext): Promise<UserFacingError | undefined> {
    for (const name of cmd.requires ?? []) {
      const check = this.deps.preconditions.get(name);
      if (!check) throw new Error(`command !${cmd.name} requires unknown precondition ${name}`);
      const refusal = await check(ctx);
      if (refusal) return refusal;
    }
    return undefined;
  }

  private commit(inv: Invocation, replies: readonly string[], jobs: readonly { kind: string; payload: unknown }[], changes: readonly IncidentChange[]): void {
    this.deps.transaction(() => this.commitInside(inv, replies, jobs, changes));
  }

  private commitInside(inv: Invocation, replies: readonly string[], jobs: readonly { kind: string; payload: unknown }[], changes: readonly IncidentChange[]): void {
    for (const r of replies) inv.send(r);
    for (const j of jobs) this.deps.jobs.enqueue(j.kind, j.payload);
    for (const c of changes) this.deps.publish(c, this.deps.jobs);
    inv.markHandled?.();
  }
}
