/** The store's role: durable incidents, their history, the bot's position, and the outbox. */
import type { Incident, IncidentLogEntry, IncidentSummary, TopicRef } from '../domain/incident';

/** Something the bot must say in Zulip; persisted until Zulip accepted it. */
/**
 * The outbox's priority lanes: replies to people go first, then reminders and SLA warnings, then
 * bulk notices (checklists, hints, prompts, digests). Within a lane the order is kept.
 */
export type Lane = 'reply' | 'notice' | 'bulk';
export const LANE_PRIORITY: Readonly<Record<Lane, number>> = { reply: 0, notice: 1, bulk: 2 };

export type OutgoingItem =
  /**
   * `key`: a send key the caller chose (hex, the same in every process), looked for in the topic
   * before the message is sent at all: a notice that two processes queue goes out once.
   */
  | { kind: 'message'; stream: string; topic: string; content: string; key?: string }
  | { kind: 'reaction'; messageId: number; emojiName: string }
  | { kind: 'direct'; to: string[]; content: string }
  /** A message the bot keeps up to date (a status card, a storm summary): posted once, then edited in place. */
  | { kind: 'card'; key: string; stream: string; topic: string; content: string };

/** Where a card was posted and what it says now. */
export interface CardRecord {
  key: string;
  /** 0 when its message could not be identified (the next update posts a fresh one). */
  messageId: number;
  stream: string;
  topic: string;
  content: string;
  /** When its message was posted (Zulip limits how long a message may be edited). */
  postedAt: number;
}

export interface CardStore {
  getCard(key: string): CardRecord | undefined;
  putCard(card: CardRecord): void;
  /** Drops queued updates of the card (a newer one supersedes them); returns how many. */
  dropQueuedCard(key: string): number;
}

export interface OutboxRow {
  id: number;
  item: OutgoingItem;
  createdAt: number;
  attempts: number;
  notBefore: number;
  /** Its priority lane (absent: a store that does not say; the sender takes it as a reply). */
  lane?: Lane;
}

/** The lane of a stored priority (LANE_PRIORITY's inverse). */
export function laneOfPriority(priority: number): Lane {
  return priority <= 0 ? 'reply' : priority === 1 ? 'notice' : 'bulk';
}

export interface Outbox {
  enqueue(item: OutgoingItem, now: number, lane?: Lane): number;
  /** The oldest queued item (items go out in order: a failing one holds back the rest). */
  peek(): OutboxRow | undefined;
  /**
   * The oldest `limit` queued items, oldest first: the sender has a few out at once, in order
   * within each topic. Like `peek`, nothing while a removal waits to be written.
   */
  pending(limit: number): OutboxRow[];
  /**
   * The item went out. When the store cannot write, the removal is kept in memory and written
   * once it can. `peek` and `pending` offer nothing while the store cannot write or a removal
   * waits (a send that cannot be recorded is not made).
   */
  remove(id: number): void;
  /** When the store cannot write, held in memory like a removal and written once it can. */
  reschedule(id: number, notBefore: number, attempts: number): void;
  size(): number;
  /** Messages still queued for a topic (e.g. to rename it only after they went out). */
  pendingFor(stream: string, topic: string): number;
  /** The topics that have messages queued. */
  pendingTopics(): TopicRef[];
}

export interface IncidentStore {
  getIncident(eventId: string): Incident | undefined;
  /**
   * Inserts or replaces the incident, with an optional history line, in one transaction.
   * `before`: the incident as read in this transaction; a store may then write only what changed.
   */
  putIncident(incident: Incident, log?: IncidentLogEntry, before?: Incident): void;
  openIncidents(): Incident[];
  /** The open incidents, only the fields a list shows (much cheaper with thousands open). */
  openSummaries(): IncidentSummary[];
  incidentsInTopic(ref: TopicRef, opts?: { openOnly?: boolean }): Incident[];
  /** Open incidents whose SLA timers fall due at or before `now`. */
  dueIncidents(now: number): Incident[];
  /** The earliest time any timer falls due. */
  nextDueAt(): number | undefined;
  /** The latest incident of a host discussed in another topic than `not`. */
  latestElsewhereForHost(host: string, not: TopicRef): Incident | undefined;
  logsOfKind(kind: IncidentLogEntry['kind'], since: number): IncidentLogEntry[];
  /** Critical incidents opened since `since` (one indexed query; the several-hosts watch). */
  criticalOpensSince(since: number): { eventId: string; at: number; host: string; triggerName: string; stream: string; topic: string }[];
  /** Incidents opened in [from, to), oldest first. */
  incidentsOpenedBetween(from: number, to: number): Incident[];
  /** Every incident of a host, newest first (at most `limit`). */
  incidentsOfHost(host: string, limit: number): Incident[];
  /** Follows a topic rename or move; returns how many incidents moved. */
  moveTopic(from: TopicRef, to: TopicRef): number;
  addLog(entry: IncidentLogEntry): void;
  history(eventId: string): IncidentLogEntry[];
}

/** A Lynx project ID reported in a host topic. */
export interface ProjectIdRecord {
  stream: string;
  topic: string;
  /** The trigger it tracks, when known. */
  triggerId?: string;
  projectId: string;
  by: string;
  at: number;
  messageId?: number;
}

/** The non-critical workflow's memory: project IDs per host topic, checklists posted. */
export interface TrackingStore {
  /** Records an ID (once per topic and trigger); true when it was new. */
  recordProjectId(r: ProjectIdRecord): boolean;
  projectIdsIn(ref: TopicRef): ProjectIdRecord[];
  /** True when no checklist was posted yet for this topic and trigger (and records it). */
  markChecklistPosted(ref: TopicRef, triggerId: string, at: number): boolean;
}

export interface PersonRef {
  id: number;
  name: string;
}

export interface Handover {
  from?: PersonRef;
  to: PersonRef;
  by: string;
  at: number;
  forced: boolean;
}

/** Someone handling the incidents of a host topic, until the end of their working day. */
export interface Handler {
  stream: string;
  /** The host topic (without the ✔ prefix). */
  topic: string;
  person: PersonRef;
  since: number;
  until: number;
}

export interface ResponderStore {
  recordHandover(h: Handover): void;
  /** Newest first; the first is the acting first responder. */
  handovers(limit: number): Handover[];
  setHandler(h: Handler): void;
  handlerFor(ref: TopicRef): Handler | undefined;
  handlersEndingBy(now: number): Handler[];
  handlersOf(personId: number): Handler[];
  removeHandler(ref: TopicRef): boolean;
}

/**
 * Someone handling every incident in an area (`!handling area web`, or `!handling` in a topic of
 * an area's host) or on hosts matching a pattern (`!handling host <regex>`), until `until`.
 */
export interface ScopedHandler {
  scope: 'area' | 'host';
  /** The area's name as configured, or the host pattern as typed. */
  key: string;
  person: PersonRef;
  since: number;
  until: number;
  /** Where `!handling` was typed: the end of the working day is said there. */
  where?: TopicRef;
}

/** Who owns what beyond one topic (issue 19): handlers of areas and host patterns. */
export interface OwnershipStore {
  setScopedHandler(h: ScopedHandler): void;
  /** Every scoped handler, oldest first. */
  scopedHandlers(): ScopedHandler[];
  removeScopedHandler(scope: ScopedHandler['scope'], key: string): boolean;
}

export interface StateStore {
  getState(key: string): string | undefined;
  setState(key: string, value: string): void;
  /** Sets a whole-number state value unless the stored one is as high already (one statement, no read first). */
  raiseState(key: string, value: number): void;
}

/** Runbook advice (hints, client prompts) posted per host topic (src/features/runbook/advisor.ts). */
export interface AdviceStore {
  /** True when `kind` was not posted yet in this topic for this trigger (and records it). */
  markAdvicePosted(ref: TopicRef, triggerId: string, kind: string, at: number): boolean;
  /** Forgets what was posted in the topic (it was marked resolved); returns how many marks went. */
  clearAdvice(ref: TopicRef): number;
}

/** A queued after-commit job (src/pipeline/jobs.ts). */
export interface JobRow {
  id: number;
  kind: string;
  payload: unknown;
  /** Not before this time (milliseconds since the epoch). */
  runAt: number;
  attempts: number;
  lastError?: string;
  /** Its failure was said in chat already (said once). */
  reported: boolean;
  createdAt: number;
}

/** Durable after-commit jobs: written in the transaction of the change that needs them. */
export interface JobStore {
  enqueueJob(kind: string, payload: unknown, runAt: number): number;
  /** Jobs due at `now`, oldest first; none while the store cannot write (a job's end could not be recorded). */
  dueJobs(now: number, limit: number): JobRow[];
  /** Undefined too while the store cannot write. */
  nextJobAt(): number | undefined;
  /** The job is done. When the store cannot write, held in memory and written once it can (dueJobs offers nothing meanwhile). */
  finishJob(id: number): void;
  /** Best effort when the store cannot write: the job stays due, offered again once it can. */
  retryJob(id: number, runAt: number, attempts: number, error: string, reported: boolean): void;
  jobCount(): number;
}

/** Runs fn in one transaction: all of its writes land, or none. */
export interface Transactional {
  transaction<T>(fn: () => T): T;
}

/** The store's own condition, for /healthz and the store watch (src/store/watch.ts). */
export interface StoreCondition {
  /** The database file. */
  readonly path: string;
  /**
   * `failing`: the last write (or read) failed with a StoreUnavailableError and no write has
   * succeeded since; `failures`: how many failed so far.
   */
  condition(): { failing?: { code: string; reason: string }; failures: number };
  /** Whether the file at `path` is still the database that is open (not deleted, not replaced). */
  checkFile(): { ok: true } | { ok: false; reason: string };
}

/** A GitLab issue that tracks incidents (src/features/gitlab/). */
export interface GitlabIssueRecord {
  iid: number;
  webUrl: string;
  title: string;
  /** The state the bot last set or saw. */
  state: 'opened' | 'closed';
  /** When that state was set or seen (milliseconds since the epoch). */
  stateAt: number;
  createdAt: number;
  /** The incidents it tracks (event ids), oldest link first. */
  eventIds: string[];
}

/** GitLab tracking: which issue tracks which incident, and the notes already synced. */
export interface GitlabStore {
  /** Links the incident to the issue (replacing an earlier link) and records the issue. */
  linkGitlabIssue(eventId: string, issue: { iid: number; webUrl: string; title: string; state: 'opened' | 'closed' }, at: number): void;
  gitlabIssueOf(eventId: string): GitlabIssueRecord | undefined;
  gitlabIssue(iid: number): GitlabIssueRecord | undefined;
  /** The issues in that state, oldest first. */
  gitlabIssues(state: 'opened' | 'closed'): GitlabIssueRecord[];
  setGitlabIssueState(iid: number, state: 'opened' | 'closed', at: number): void;
  /** Forgets an issue (gone from GitLab), its links and its notes. */
  forgetGitlabIssue(iid: number): void;
  /** Records a note as synced (made by the bot, or said in chat); false when it already was. */
  markGitlabNote(iid: number, noteId: number, origin: 'bot' | 'gitlab', at: number, messageId?: number): boolean;
  gitlabNoteSeen(iid: number, noteId: number): boolean;
  /** The note the bot made of a Zulip message, if it made one. */
  gitlabNoteOfMessage(messageId: number): number | undefined;
  /** A chat message to add as a note, kept in order until it is on GitLab; false when it already was queued. */
  queueGitlabNote(messageId: number, eventId: string, payload: unknown, at: number): boolean;
  /** The queued messages, oldest (lowest message id) first. */
  pendingGitlabNotes(): { messageId: number; eventId: string; payload: unknown }[];
  dropGitlabNote(messageId: number): void;
  /** Queued jobs whose kind starts with `prefix` and that wait for a retry become due now; returns how many. */
  hurryJobs(prefix: string, now: number): number;
}

export interface Store extends CardStore, IncidentStore, TrackingStore, ResponderStore, StateStore, Outbox, AdviceStore, JobStore, GitlabStore, StoreCondition, OwnershipStore {
  /** Runs fn in one transaction: all of its writes land, or none. */
  transaction<T>(fn: () => T): T;
  close(): void;
}
