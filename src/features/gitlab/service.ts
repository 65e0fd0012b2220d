/**
 * GitLab tracking, both ways, as the old Mattermost integration did it: an issue per incident of a
 * tracked class (✔️ on the alert post once it exists), people's messages in the topic as issue
 * notes, people's notes on GitLab in the topic, the issue closed when the incident is resolved and
 * reopened when it opens again; closing it on GitLab is said in the topic.
 *
 * Everything that talks to GitLab is an after-commit job (never on the message path), run one at
 * a time so notes keep their order. A failure is said once in the general stream and once on
 * recovery; then the jobs that wait for a retry run at once. No echo: the bot's own notes (by
 * the token's user) are never posted back, and its own Zulip posts never reach `onMessage`.
 * Notes already synced either way are remembered (the store), so none is posted twice.
 */
import type { BotConfig } from '../../config/schema';
import type { Clock } from '../../core/clock';
import type { Logger } from '../../core/log';
import { outside } from '../../core/text';
import { resolve, type Incident, type Resolution, type TopicRef } from '../../domain/incident';
import { isResolvedTopic } from '../../domain/topics';
import { GitlabError, type GitlabApi, type GitlabIssue, type GitlabNote, type GitlabUser } from '../../gitlab/api';
import type { HttpAnswer, HttpRoute } from '../../ops/http';
import type { JobContext, JobHandler, JobQueue } from '../../pipeline/jobs';
import type { GitlabIssueRecord, GitlabStore, IncidentStore, StateStore, Transactional } from '../../store/store';
import type { StreamMessage } from '../../zulip/api';
import type { Speaker } from '../../zulip/speaker';
import type { IncidentLifecycle } from '../incidents/lifecycle';
import { chatFromNote, incidentText, issueDescription, issueLink, issueMarker, issueTitle, dayIn, messageUrl, noteFromChat, slaDeadline, whoText, type ZulipPlace } from './render';

/**
 * Why an issue is closed, by how its incidents were resolved: the same words whichever closes it
 * first, the job queued by the resolution or the periodic sync that finds it resolved.
 */
export const CLOSED_BECAUSE: Record<Resolution, string> = {
  'ok-alert': 'OK from Zabbix',
  'topic-resolved': 'the topic was marked resolved (✔) in Zulip',
  zabbix: 'resolved in Zabbix',
  manual: 'resolved by hand in Zulip',
  linked: 'resolved by hand in Zulip',
  agreed: 'resolved by hand in Zulip',
};

export const GITLAB_OPEN_JOB = 'gitlab.open-issue';
export const GITLAB_LINK_JOB = 'gitlab.link-issue';
export const GITLAB_NOTE_JOB = 'gitlab.note';
export const GITLAB_STATE_JOB = 'gitlab.state';
export const GITLAB_SYNC_JOB = 'gitlab.sync';

const FAILING_KEY = 'gitlab.sync.failing';
const BOT_USER_KEY = 'gitlab.botUserId';
const NOTICE_TOPIC = 'GitLab sync';
/**
 * ✔️ (U+2714, "heavy check mark") on the alert post once the issue exists. Zulip names it
 * `check_mark` (its emoji_names.py); Zulip refuses `heavy_check_mark` ("Invalid emoji name").
 */
export const TRACKED_EMOJI = 'check_mark';
/** GitLab jobs wait for each other (one at a time): a long queue must not time them out. */
const JOB_TIMEOUT_MS = 180_000;

export interface OpenIssueJob {
  eventId: string;
  /** The stream's id, when the alert post told it (for the topic's URL). */
  streamId?: number;
  /** `!gitlab` typed by this person: the class need not be tracked. */
  byHand?: string;
  /** Who reported it (`!incident`, `!track`). */
  reportedBy?: string;
}

export interface LinkIssueJob extends TopicRef {
  eventIds: string[];
  iid: number;
  by: string;
  messageId: number;
}

/** A chat message waiting (in the store, in order) to become a note on the issue of `eventId`. */
export interface PendingNote extends TopicRef {
  messageId: number;
  streamId: number;
  author: string;
  content: string;
}

/** Adds the waiting chat messages as notes, oldest first (which issue each goes to is read then). */
export type NoteJob = Record<string, never>;

export interface StateJob {
  eventIds: string[];
  action: 'close' | 'reopen';
  by: string;
  /** How it happened, for the note: "`!resolve` in Zulip", "OK from Zabbix". */
  how: string;
}

/** The issue is not created yet: the job waits (not a GitLab failure). */
class NotReady extends Error {}

export interface GitlabServiceDeps {
  gitlab: GitlabApi;
  store: IncidentStore & GitlabStore & StateStore & Transactional;
  speaker: Speaker;
  lifecycle: Pick<IncidentLifecycle, 'save'>;
  config: Pick<BotConfig, 'gitlab' | 'streams' | 'zulip' | 'sla' | 'timezone' | 'naming'>;
  clock: Clock;
  log: Logger;
  jobs: JobQueue;
  /** The id of a stream, asked of Zulip (undefined when it cannot tell). */
  streamId: (name: string) => Promise<number | undefined>;
  /** Wakes the job runner (jobs were made due). */
  kickJobs: () => void;
  /** Metrics: a failed GitLab request (by reason), something synced (by what). */
  onFailure?: (reason: string) => void;
  onSynced?: (what: string) => void;
}

export class GitlabService {
  private chain: Promise<unknown> = Promise.resolve();
  private nextSyncAt = 0;
  private syncQueued = false;
  private me: GitlabUser | undefined;
  lastOkAt: number | undefined;
  lastError: string | undefined;

  constructor(private readonly deps: GitlabServiceDeps) {}

  get failing(): boolean {
    return this.deps.store.getState(FAILING_KEY) === '1';
  }

  /** Whether incidents of this class get an issue when they open. */
  tracks(i: Pick<Incident, 'incidentClass'>): boolean {
    return this.deps.config.gitlab.classes.includes(i.incidentClass);
  }

  /** One short line about the incident's issue, for the status card; undefined when it has none. */
  issueLine(eventId: string): string | undefined {
    const rec = this.deps.store.gitlabIssueOf(eventId);
    return rec ? `GitLab: ${issueLink(rec.iid, rec.webUrl)} (${rec.state === 'opened' ? 'open' : 'closed'})` : undefined;
  }

  // ---------------------------------------------------------------------------------------------
  // What the hooks and the command queue.

  /** An incident opened (alert, `!incident`, `!track`) or `!gitlab` typed: its issue is made by a job. */
  queueOpen(i: Incident, jobs: JobQueue, o: { streamId?: number; byHand?: string; reportedBy?: string } = {}): void {
    if (!o.byHand && !this.tracks(i)) return;
    const job: OpenIssueJob = { eventId: i.eventId, ...(o.streamId !== undefined ? { streamId: o.streamId } : {}), ...(o.byHand ? { byHand: o.byHand } : {}), ...(o.reportedBy ? { reportedBy: o.reportedBy } : {}) };
    jobs.enqueue(GITLAB_OPEN_JOB, job);
  }

  /** Incidents resolved or open again: their issues follow (a job; only issues the bot tracks). */
  queueState(incidents: readonly Incident[], action: StateJob['action'], by: string, how: string, jobs: JobQueue): void {
    const ids = incidents.filter((i) => this.deps.store.gitlabIssueOf(i.eventId) !== undefined || this.tracks(i)).map((i) => i.eventId);
    if (ids.length === 0) return;
    const job: StateJob = { eventIds: ids, action, by, how };
    jobs.enqueue(GITLAB_STATE_JOB, job);
  }

  /** A person's message in an incident's topic becomes a note on its issue (not commands: the caller checks). */
  queueNote(m: StreamMessage, jobs: JobQueue): void {
    const ref = { stream: m.stream, topic: m.topic };
    const incidents = this.deps.store.incidentsInTopic(ref, {});
    if (incidents.length === 0) return;
    const newestFirst = [...incidents].reverse();
    const target = newestFirst.find((i) => this.deps.store.gitlabIssueOf(i.eventId) !== undefined) ?? newestFirst.find((i) => i.status !== 'resolved' && this.tracks(i));
    if (!target) return;
    const note: PendingNote = { ...ref, messageId: m.id, streamId: m.streamId, author: m.senderName, content: m.content.slice(0, 20_000) };
    // Kept in the store in message order: the notes reach GitLab in that order, whatever the retries.
    if (this.deps.store.queueGitlabNote(m.id, target.eventId, note, this.deps.clock.now())) jobs.enqueue(GITLAB_NOTE_JOB, {});
  }

  /** A topic marked ✔ (its incidents resolved) or un-✔ (open again): the issues follow. */
  onTopicMove(from: TopicRef, to: TopicRef, moved: readonly Incident[]): void {
    const now = moved.map((i) => this.deps.store.getIncident(i.eventId) ?? i);
    if (!isResolvedTopic(from.topic) && isResolvedTopic(to.topic)) {
      const done = now.filter((i) => i.status === 'resolved');
      this.queueState(done, 'close', done[0]?.resolvedBy ?? 'someone', CLOSED_BECAUSE['topic-resolved'], this.deps.jobs);
    } else if (isResolvedTopic(from.topic) && !isResolvedTopic(to.topic)) {
      this.queueState(now.filter((i) => i.status !== 'resolved'), 'reopen', 'someone', 'the resolved mark was taken off the Zulip topic', this.deps.jobs);
    }
  }

  /** The scheduler's tick: every `gitlab.syncEvery`, a sync job (notes and state of the open issues). */
  maybeSync(now: number): void {
    if (now < this.nextSyncAt || this.syncQueued) return;
    this.nextSyncAt = now + this.deps.config.gitlab.syncEvery;
    this.syncQueued = true;
    this.deps.jobs.enqueue(GITLAB_SYNC_JOB, {});
  }

  // ---------------------------------------------------------------------------------------------
  // GitLab calls: one at a time, each failure and recovery noted.

  /** Runs fn after the GitLab work queued before it (notes keep their order). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async call<T>(fn: (gitlab: GitlabApi) => Promise<T>): Promise<T> {
    try {
      const v = await fn(this.deps.gitlab);
      this.succeeded();
      return v;
    } catch (err) {
      this.failed(err);
      throw err;
    }
  }

  private succeeded(): void {
    const { store, clock, speaker, config, log } = this.deps;
    this.lastOkAt = clock.now();
    this.lastError = undefined;
    if (!this.failing) return;
    let hurried = 0;
    store.transaction(() => {
      store.setState(FAILING_KEY, '0');
      hurried = store.hurryJobs('gitlab.', clock.now());
      speaker.say(config.streams.general, NOTICE_TOPIC, `✅ GitLab answers again${hurried > 0 ? `: catching up on ${hurried} waiting change${hurried === 1 ? '' : 's'} now` : ''}.`);
    });
    log.info({ hurried }, 'GitLab sync recovered');
    this.deps.kickJobs();
  }

  private failed(err: unknown): void {
    if (err instanceof NotReady) return;
    const e = err instanceof GitlabError ? err : new GitlabError('api', (err as Error)?.message ?? String(err));
    this.lastError = e.message;
    this.deps.onFailure?.(e.kind);
    this.deps.log.warn({ err: e.message, kind: e.kind, status: e.status ?? null }, 'GitLab request failed; retrying later');
    if (e.kind === 'issue-not-found' || this.failing) return;
    const { store, speaker, config } = this.deps;
    store.transaction(() => {
      store.setState(FAILING_KEY, '1');
      speaker.say(
        config.streams.general,
        NOTICE_TOPIC,
        `⚠️ GitLab sync is failing (${outside(e.message.replace(/^GitLab: /, ''), { max: 300 })}). The chat keeps working; issues, notes and state changes wait and are synced when GitLab answers again. I'll say when it recovers.`,
      );
    });
  }

  /** The token's user: its notes are the bot's own (never posted back). Remembered across restarts. */
  private async ensureMe(): Promise<GitlabUser> {
    if (this.me) return this.me;
    this.me = await this.call((g) => g.currentUser());
    this.deps.store.setState(BOT_USER_KEY, String(this.me.id));
    return this.me;
  }

  private botUserId(): number | undefined {
    if (this.me) return this.me.id;
    const v = this.deps.store.getState(BOT_USER_KEY);
    return v === undefined ? undefined : Number(v);
  }

  private place(ref: TopicRef, streamId: number | undefined): ZulipPlace {
    const site = this.deps.config.zulip.site;
    return { ...(site !== undefined ? { site } : {}), ...(streamId !== undefined ? { streamId } : {}) };
  }

  private async streamIdOf(stream: string, known?: number): Promise<number | undefined> {
    if (known !== undefined) return known;
    try {
      return await this.deps.streamId(stream);
    } catch {
      return undefined; // the link falls back to #**stream>topic**
    }
  }

  /** Where an issue is discussed: the topic of its newest incident. */
  private topicOf(rec: GitlabIssueRecord): Incident | undefined {
    for (const id of [...rec.eventIds].reverse()) {
      const i = this.deps.store.getIncident(id);
      if (i) return i;
    }
    return undefined;
  }

  private reactOn(i: Incident): void {
    if (i.openedMessageId > 0) this.deps.speaker.react(i.openedMessageId, TRACKED_EMOJI);
  }

  // ---------------------------------------------------------------------------------------------
  // The jobs.

  private handler<P>(kind: string, run: (payload: P, ctx: JobContext) => Promise<void>, extra: Partial<JobHandler<P>> = {}): JobHandler<P> {
    return { kind, timeoutMs: JOB_TIMEOUT_MS, ...extra, run: (payload, ctx) => this.serial(() => run(payload, ctx)) };
  }

  readonly openJob = this.handler<OpenIssueJob>(GITLAB_OPEN_JOB, async (job, ctx) => {
    const { store, speaker, clock, config } = this.deps;
    const incident = store.getIncident(job.eventId);
    if (!incident || store.gitlabIssueOf(job.eventId)) return;
    await this.ensureMe();
    // The same trigger on the same host while its issue is open: the same issue.
    const same = incident.triggerId
      ? store.gitlabIssues('opened').find((rec) => rec.eventIds.some((id) => {
          const o = store.getIncident(id);
          return o !== undefined && o.eventId !== incident.eventId && o.triggerId === incident.triggerId && o.host === incident.host;
        }))
      : undefined;
    if (same) {
      const note = await this.call((g) => g.addNote(same.iid, `The problem fired again in Zabbix: event ${incident.eventId} (${outside(incident.triggerName, { max: 200 })}), tracked in this issue too.`));
      store.transaction(() => {
        store.markGitlabNote(same.iid, note.id, 'bot', clock.now());
        store.linkGitlabIssue(incident.eventId, { iid: same.iid, webUrl: same.webUrl, title: same.title, state: 'opened' }, clock.now());
        this.reactOn(incident);
        speaker.say(incident.stream, incident.topic, `📋 Same problem as the open GitLab issue ${issueLink(same.iid, same.webUrl)}: tracked there.`);
      });
      this.deps.onSynced?.('issue-linked');
      return;
    }
    const place = this.place(incident, await this.streamIdOf(incident.stream, job.streamId));
    const naming = { timeZone: config.timezone, organisation: config.naming.organisation, sla: config.sla };
    const marker = issueMarker(incident.eventId);
    // A retry after a crash may find the issue it made before.
    let issue: GitlabIssue | undefined;
    if (ctx.attempt > 1) issue = (await this.call((g) => g.findIssues(marker))).find((x) => x.description.includes(marker));
    if (!issue) {
      const deadline = slaDeadline(incident, config.sla);
      const description = issueDescription(incident, naming, place, job.reportedBy ?? job.byHand);
      issue = await this.call((g) =>
        g.createIssue({ title: issueTitle(incident, naming), description, labels: config.gitlab.labels, ...(deadline ? { dueDate: dayIn(deadline.at, config.timezone) } : {}) }),
      );
      this.deps.onSynced?.('issue-created');
    }
    const made = issue;
    const now = clock.now();
    store.transaction(() => {
      store.linkGitlabIssue(incident.eventId, { iid: made.iid, webUrl: made.webUrl, title: made.title, state: made.state }, now);
      this.reactOn(incident);
      speaker.say(incident.stream, incident.topic, `📋 GitLab issue ${issueLink(made.iid, made.webUrl)} tracks ${incidentText(incident)}; messages here are added to it as notes.`, 'bulk');
      // Notes that waited for the issue go now.
      if (store.hurryJobs(GITLAB_NOTE_JOB, now) > 0) this.deps.kickJobs();
    });
    this.deps.log.info({ eventId: incident.eventId, iid: made.iid }, 'GitLab issue created');
    // Resolved while the issue was being made: it is closed at once.
    const current = store.getIncident(incident.eventId);
    if (current?.status === 'resolved') await this.closeOrReopen(made.iid, 'close', current.resolvedBy ?? 'someone', 'resolved before the issue was made');
  }, {
    giveUp: (job, err) => {
      const i = this.deps.store.getIncident(job.eventId);
      if (i) this.deps.speaker.say(i.stream, i.topic, `⚠️ Gave up creating the GitLab issue for ${incidentText(i)} (${outside(err.message, { max: 300 })}): \`!gitlab\` tries again.`);
    },
  });

  readonly linkJob = this.handler<LinkIssueJob>(GITLAB_LINK_JOB, async (job) => {
    const { store, speaker, clock } = this.deps;
    let issue: GitlabIssue;
    try {
      issue = await this.call((g) => g.issue(job.iid));
    } catch (err) {
      if (err instanceof GitlabError && err.kind === 'issue-not-found') {
        speaker.say(job.stream, job.topic, `⚠️ There is no GitLab issue #${job.iid} in the project (${outside(String(this.deps.config.gitlab.project), { max: 100 })}): nothing linked.`);
        return;
      }
      throw err;
    }
    await this.ensureMe();
    // Its notes so far are not posted here: only what is added from now on.
    const notes = await this.call((g) => g.notes(issue.iid));
    const incidents = job.eventIds.map((id) => store.getIncident(id)).filter((i): i is Incident => i !== undefined);
    const now = clock.now();
    store.transaction(() => {
      for (const i of incidents) {
        store.linkGitlabIssue(i.eventId, { iid: issue.iid, webUrl: issue.webUrl, title: issue.title, state: issue.state }, now);
        this.reactOn(i);
      }
      store.setGitlabIssueState(issue.iid, issue.state, now);
      for (const n of notes) store.markGitlabNote(issue.iid, n.id, 'gitlab', now);
      speaker.say(job.stream, job.topic, `🔗 GitLab issue ${issueLink(issue.iid, issue.webUrl)} (${outside(issue.title, { max: 150 })}, ${issue.state === 'opened' ? 'open' : 'closed'}) now tracks ${incidents.map(incidentText).join(', ') || 'this topic'}, linked by ${outside(job.by, { max: 100 })}.`);
    });
    this.deps.onSynced?.('issue-linked');
  });

  readonly noteJob = this.handler<NoteJob>(GITLAB_NOTE_JOB, async (_job, ctx) => {
    const { store, clock } = this.deps;
    let waiting = 0;
    let mine: GitlabNote[] | undefined;
    for (const row of store.pendingGitlabNotes()) {
      const note = row.payload as PendingNote;
      const rec = store.gitlabIssueOf(row.eventId);
      if (!rec) {
        const i = store.getIncident(row.eventId);
        if (i && this.tracks(i)) waiting++; // its issue is not made yet: it waits
        else store.dropGitlabNote(row.messageId);
        continue;
      }
      if (store.gitlabNoteOfMessage(row.messageId) !== undefined) {
        store.dropGitlabNote(row.messageId);
        continue;
      }
      const me = await this.ensureMe();
      const link = messageUrl(note, note.messageId, this.place(note, note.streamId));
      // A retry after a crash may find the note it made before.
      if (ctx.attempt > 1) {
        mine ??= (await this.call((g) => g.notes(rec.iid))).filter((n) => n.author.id === me.id);
        const before = mine.find((n) => n.body.includes(`(${link})`));
        if (before) {
          store.transaction(() => {
            store.markGitlabNote(rec.iid, before.id, 'bot', clock.now(), row.messageId);
            store.dropGitlabNote(row.messageId);
          });
          continue;
        }
      }
      const made = await this.call((g) => g.addNote(rec.iid, noteFromChat(note.author, note.content, link)));
      store.transaction(() => {
        store.markGitlabNote(rec.iid, made.id, 'bot', clock.now(), row.messageId);
        store.dropGitlabNote(row.messageId);
      });
      this.deps.onSynced?.('note-to-gitlab');
    }
    if (waiting > 0) throw new NotReady(`${waiting} message${waiting === 1 ? '' : 's'} wait for their GitLab issue`);
  }, { maxAttempts: 200 });

  readonly stateJob = this.handler<StateJob>(GITLAB_STATE_JOB, async (job) => {
    const iids = new Set(job.eventIds.map((id) => this.deps.store.gitlabIssueOf(id)?.iid).filter((x): x is number => x !== undefined));
    for (const iid of iids) await this.closeOrReopen(iid, job.action, job.by, job.how);
  });

  /**
   * Closes the issue when every incident it tracks is resolved (or reopens it when one is open
   * again), with a note saying why; nothing when GitLab already has it so.
   */
  private async closeOrReopen(iid: number, action: 'close' | 'reopen', by: string, how: string): Promise<void> {
    const { store, clock } = this.deps;
    const rec = store.gitlabIssue(iid);
    if (!rec) return;
    const incidents = rec.eventIds.map((id) => store.getIncident(id)).filter((i): i is Incident => i !== undefined);
    if (action === 'close' && incidents.some((i) => i.status !== 'resolved')) return;
    if (action === 'reopen' && !incidents.some((i) => i.status !== 'resolved')) return;
    const want = action === 'close' ? 'closed' : 'opened';
    await this.ensureMe();
    let issue: GitlabIssue;
    try {
      issue = await this.call((g) => g.issue(iid));
    } catch (err) {
      if (err instanceof GitlabError && err.kind === 'issue-not-found') return this.forget(rec);
      throw err;
    }
    if (issue.state !== want) {
      const text =
        action === 'close'
          ? `Resolved in Zulip by ${outside(by, { max: 100 })} (${how}): ${incidents.map((i) => `${outside(i.triggerName, { max: 200 })} (event ${i.eventId})`).join(', ')}. Closing this issue.`
          : `Open again (${how}${by !== 'someone' ? `, ${outside(by, { max: 100 })}` : ''}): reopening this issue.`;
      const note = await this.call((g) => g.addNote(iid, text));
      store.markGitlabNote(iid, note.id, 'bot', clock.now());
      issue = await this.call((g) => g.setIssueState(iid, action));
      this.deps.onSynced?.(action === 'close' ? 'issue-closed' : 'issue-reopened');
      this.deps.log.info({ iid, action }, `GitLab issue ${action === 'close' ? 'closed' : 'reopened'}`);
    }
    store.setGitlabIssueState(iid, issue.state, clock.now());
  }

  /** The issue is gone from GitLab (deleted, or moved away): said once, no longer synced. */
  private forget(rec: GitlabIssueRecord): void {
    const where = this.topicOf(rec);
    this.deps.store.transaction(() => {
      this.deps.store.forgetGitlabIssue(rec.iid);
      if (where) this.deps.speaker.say(where.stream, where.topic, `ℹ️ GitLab issue #${rec.iid} is gone (deleted or moved): it is no longer synced with this topic. \`!gitlab\` makes a new one.`);
    });
  }

  /** Every `syncEvery`: the notes people added to the open issues, and whether GitLab closed them. */
  readonly syncJob = this.handler<Record<string, never>>(
    GITLAB_SYNC_JOB,
    async () => {
      try {
        await this.ensureMe();
        if (this.failing) await this.call((g) => g.currentUser()); // the probe that says it recovered
        for (const rec of this.deps.store.gitlabIssues('opened')) await this.syncIssue(rec);
      } catch (err) {
        // Noted (and said once) by call(); the next round comes after `syncEvery` anyway.
        if (!(err instanceof GitlabError)) throw err;
        this.deps.log.debug({ err: err.message }, 'GitLab sync round failed');
      } finally {
        this.syncQueued = false;
      }
    },
    { maxAttempts: 1 },
  );

  private async syncIssue(rec: GitlabIssueRecord): Promise<void> {
    let notes: GitlabNote[];
    let issue: GitlabIssue;
    try {
      notes = await this.call((g) => g.notes(rec.iid));
      issue = await this.call((g) => g.issue(rec.iid));
    } catch (err) {
      if (err instanceof GitlabError && err.kind === 'issue-not-found') return this.forget(rec);
      throw err;
    }
    for (const n of notes) this.noteFromGitlab(rec, n, `${issue.webUrl || rec.webUrl}#note_${n.id}`);
    if (issue.state === 'closed') this.closedOnGitlab(rec, issue.closedBy);
    else await this.closeIfResolved(rec);
  }

  /** Incidents resolved where no event told the issue (e.g. Zabbix's sync): the issue follows. */
  private async closeIfResolved(rec: GitlabIssueRecord): Promise<void> {
    const incidents = rec.eventIds.map((id) => this.deps.store.getIncident(id)).filter((i): i is Incident => i !== undefined);
    if (incidents.length === 0 || incidents.some((i) => i.status !== 'resolved')) return;
    const last = incidents.reduce((a, b) => ((a.resolvedAt ?? 0) >= (b.resolvedAt ?? 0) ? a : b));
    // Reopened on GitLab after the incident was resolved: people want it open.
    if ((last.resolvedAt ?? 0) <= rec.stateAt) return;
    await this.closeOrReopen(rec.iid, 'close', last.resolvedBy ?? 'someone', CLOSED_BECAUSE[last.resolution ?? 'manual']);
  }

  /** A note on GitLab: posted in the topic once, unless it is the bot's own or GitLab's. */
  private noteFromGitlab(rec: GitlabIssueRecord, n: { id: number; body: string; author: GitlabUser; system: boolean }, url: string): void {
    const { store, speaker, clock } = this.deps;
    if (store.gitlabNoteSeen(rec.iid, n.id)) return;
    const mine = n.author.id === this.botUserId();
    if (mine || n.system) {
      store.markGitlabNote(rec.iid, n.id, mine ? 'bot' : 'gitlab', clock.now());
      return;
    }
    const where = this.topicOf(rec);
    store.transaction(() => {
      if (!store.markGitlabNote(rec.iid, n.id, 'gitlab', clock.now())) return;
      if (where) speaker.say(where.stream, where.topic, chatFromNote(n.author, n.body, rec.iid, url));
    });
    this.deps.onSynced?.('note-to-zulip');
  }

  /** Closed on GitLab by a person: said in the topic; with `closeResolves`, its incidents are resolved. */
  private closedOnGitlab(rec: GitlabIssueRecord, by: GitlabUser | undefined): void {
    const { store, speaker, clock, config, lifecycle } = this.deps;
    if (rec.state === 'closed') return;
    const now = clock.now();
    if (by && by.id === this.botUserId()) {
      store.setGitlabIssueState(rec.iid, 'closed', now);
      return;
    }
    const where = this.topicOf(rec);
    const open = rec.eventIds.map((id) => store.getIncident(id)).filter((i): i is Incident => i !== undefined && i.status !== 'resolved');
    const who = whoText(by);
    store.transaction(() => {
      store.setGitlabIssueState(rec.iid, 'closed', now);
      let tail = '';
      if (open.length > 0 && config.gitlab.closeResolves) {
        for (const i of open) {
          lifecycle.save(resolve(i, { at: now, by: `${who} (GitLab)`, resolution: 'manual' }), { eventId: i.eventId, at: now, kind: 'resolved', actor: `${who} (GitLab)`, detail: `GitLab issue #${rec.iid} closed` });
        }
        tail = ` Resolved here: ${open.map(incidentText).join(', ')}.`;
      } else if (open.length > 0) {
        tail = ` ${open.length === 1 ? 'The incident here stays' : 'The incidents here stay'} open: \`!resolve\` or ✔ resolves ${open.length === 1 ? 'it' : 'them'}.`;
      }
      if (where) speaker.say(where.stream, where.topic, `🔒 GitLab issue ${issueLink(rec.iid, rec.webUrl)} was closed on GitLab by ${who}.${tail}`);
    });
    this.deps.log.info({ iid: rec.iid, by: who, resolved: config.gitlab.closeResolves ? open.length : 0 }, 'GitLab issue closed on GitLab');
  }

  private reopenedOnGitlab(rec: GitlabIssueRecord, by: GitlabUser | undefined): void {
    const { store, speaker, clock } = this.deps;
    if (rec.state === 'opened') return;
    const now = clock.now();
    const where = this.topicOf(rec);
    store.transaction(() => {
      store.setGitlabIssueState(rec.iid, 'opened', now);
      if (where && !(by && by.id === this.botUserId())) speaker.say(where.stream, where.topic, `🔓 GitLab issue ${issueLink(rec.iid, rec.webUrl)} was reopened on GitLab by ${whoText(by)}.`);
    });
  }

  // ---------------------------------------------------------------------------------------------
  // The webhook: `POST /gitlab/webhook` (Note Hook, Issue Hook), X-Gitlab-Token checked.

  readonly webhookRoute: HttpRoute = {
    method: 'POST',
    path: '/gitlab/webhook',
    handle: (req) => this.webhook(req.headers['x-gitlab-token'], req.body),
  };

  async webhook(token: string | string[] | undefined, body: string): Promise<HttpAnswer> {
    const secret = this.deps.config.gitlab.webhookToken;
    const json = (status: number, v: unknown): HttpAnswer => ({ status, body: JSON.stringify(v) });
    if (secret === undefined) return json(404, { error: 'the GitLab webhook is not configured (gitlab.webhookToken)' });
    if (typeof token !== 'string' || !sameSecret(token, secret)) {
      this.deps.log.warn('GitLab webhook with a wrong or missing X-Gitlab-Token; refused');
      return json(401, { error: 'invalid X-Gitlab-Token' });
    }
    let ev: Record<string, unknown>;
    try {
      ev = JSON.parse(body) as Record<string, unknown>;
    } catch {
      return json(400, { error: 'not JSON' });
    }
    if (!this.ourProject(ev)) return json(200, { ignored: 'another project' });
    const attrs = (ev.object_attributes ?? {}) as Record<string, unknown>;
    const user = toUser(ev.user);
    if (this.botUserId() === undefined) await this.ensureMe().catch(() => undefined);
    if (ev.object_kind === 'note') {
      if (attrs.noteable_type !== 'Issue') return json(200, { ignored: 'not an issue note' });
      const iid = Number((ev.issue as Record<string, unknown> | undefined)?.iid);
      const rec = this.deps.store.gitlabIssue(iid);
      if (!rec) return json(200, { ignored: 'not a tracked issue' });
      this.noteFromGitlab(rec, { id: Number(attrs.id), body: String(attrs.note ?? ''), author: { ...user, id: Number(attrs.author_id ?? user.id) }, system: attrs.system === true }, String(attrs.url ?? `${rec.webUrl}#note_${String(attrs.id)}`));
      return json(200, { ok: true });
    }
    if (ev.object_kind === 'issue') {
      const rec = this.deps.store.gitlabIssue(Number(attrs.iid));
      if (!rec) return json(200, { ignored: 'not a tracked issue' });
      if (attrs.action === 'close' || (attrs.state === 'closed' && rec.state === 'opened')) this.closedOnGitlab(rec, user);
      else if (attrs.action === 'reopen' || (attrs.state === 'opened' && rec.state === 'closed')) this.reopenedOnGitlab(rec, user);
      return json(200, { ok: true });
    }
    return json(200, { ignored: `event ${String(ev.object_kind)}` });
  }

  private ourProject(ev: Record<string, unknown>): boolean {
    const want = String(this.deps.config.gitlab.project);
    const p = (ev.project ?? {}) as Record<string, unknown>;
    const ids = [p.id, p.path_with_namespace, ev.project_id].filter((x) => x !== undefined && x !== null).map(String);
    return ids.length === 0 || ids.some((x) => x.toLowerCase() === want.toLowerCase());
  }

  health(): { configured: true; failing: boolean; lastOkAt: string | null; lastError: string | null; openIssues: number } {
    return {
      configured: true,
      failing: this.failing,
      lastOkAt: this.lastOkAt === undefined ? null : new Date(this.lastOkAt).toISOString(),
      lastError: this.lastError ?? null,
      openIssues: this.deps.store.gitlabIssues('opened').length,
    };
  }
}

function toUser(v: unknown): GitlabUser {
  const u = (v ?? {}) as Record<string, unknown>;
  return { id: Number(u.id), username: String(u.username ?? ''), name: String(u.name ?? u.username ?? '') };
}

/** Compares the webhook secret in constant time. */
function sameSecret(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
