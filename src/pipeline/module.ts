/**
 * The module contract. Each feature (src/features/<name>/) exposes one BotModule: the commands it
 * adds, the hooks it reacts with, the jobs and cron schedules it owns, and its health. The app
 * (src/app/app.ts) holds one ordered array of modules; the pipeline (./pipeline.ts) runs each
 * hook of each module inside its own error boundary, in that order.
 */
import type { AlertOutcome, Incident, IncidentChange, TopicRef } from '../domain/incident';
import type { ZabbixAlert } from '../domain/alert';
import type { StreamMessage } from '../zulip/api';
import type { Command, Precondition } from './commands';
import type { JobHandler } from './jobs';

/** An alert post from the alert sender, after the incident state was stored. */
export interface AlertEvent {
  alert: ZabbixAlert;
  outcome: AlertOutcome;
  message: StreamMessage;
}

/** A topic renamed or moved, with the incidents that followed it (already stored under `to`). */
export interface TopicMoveEvent {
  from: TopicRef;
  to: TopicRef;
  incidents: Incident[];
  byUserId: number | undefined;
}

/**
 * An emoji reaction added or removed on a message, by a person (the bot's own and other bots'
 * are dropped by the pipeline). The event carries no stream or topic: a module that needs them
 * reads the message off the message path (a job: `api.getMessage`).
 */
export interface ReactionEvent {
  op: 'add' | 'remove';
  messageId: number;
  emojiName: string;
  userId: number;
  /**
   * Tells every module what the hook changed (as a command's `ctx.emit`); call it inside the
   * change's transaction. Jobs get the same through the app (`pipeline.emit`). Absent in tests
   * that call the hook directly.
   */
  emit?: (change: IncidentChange) => void;
}

/** A schedule of the module's own, in the team's time zone. */
export interface CronJob {
  name: string;
  expression: string;
  run(now: number): void;
}

/** What a module adds to /healthz. `ok: false` makes the bot unhealthy. */
export interface ModuleHealth {
  ok?: boolean;
  [k: string]: unknown;
}

export interface BotModule {
  readonly name: string;
  readonly commands?: readonly Command[];
  /** Preconditions commands may require by name (e.g. `zabbix`, `fr-group`). */
  readonly preconditions?: Readonly<Record<string, Precondition>>;
  readonly jobs?: readonly JobHandler<never>[];
  readonly cron?: readonly CronJob[];
  onAlert?(e: AlertEvent): void | Promise<void>;
  /** Every message in the SRE streams that is not an alert (commands included, after they ran). */
  onMessage?(m: StreamMessage): void | Promise<void>;
  onTopicMove?(e: TopicMoveEvent): void | Promise<void>;
  onReaction?(e: ReactionEvent): void | Promise<void>;
  /** What a command changed; runs before the command's commit, so jobs queued here commit with it. */
  onIncidentChange?(c: IncidentChange, jobs: { enqueue(kind: string, payload: unknown): void }): void;
  /** The scheduler's round, each second. */
  tick?(now: number): void;
  health?(): ModuleHealth;
}

/** Hook names, for error reports and metrics. */
export type HookName = 'onAlert' | 'onMessage' | 'onTopicMove' | 'onReaction' | 'onIncidentChange' | 'tick' | 'health' | 'cron';
