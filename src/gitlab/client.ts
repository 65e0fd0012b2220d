/**
 * The GitLab adapter, on @gitbeaker/rest (the only importer of it): issues, their notes and
 * state, the token's own user, and the start-up check (`checkGitlab`). Everything GitLab answers
 * is read into the bot's own small shapes; every failure becomes a GitlabError whose text never
 * carries the token.
 */
import { GitbeakerRequestError, GitbeakerRetryError, GitbeakerTimeoutError, IssueNotes, Issues, Metadata, PersonalAccessTokens, Projects, Users } from '@gitbeaker/rest';
import type { BotConfig } from '../config/schema';
import { GitlabError, type GitlabApi, type GitlabIssue, type GitlabNote, type GitlabUser, type NewIssue } from './api';

export { GitlabError, type GitlabApi, type GitlabIssue, type GitlabNote, type GitlabUser, type NewIssue } from './api';

export interface GitlabClientOptions {
  /** Base URL of the GitLab instance (no /api/v4). */
  url: string;
  token: string;
  /** Project id or path ("sre/incidents"). */
  project: number | string;
  /** Milliseconds one request may take (default 20 s). */
  timeoutMs?: number;
}

type Raw = Record<string, unknown>;
const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));
const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));

function toUser(v: unknown): GitlabUser {
  const u = (v ?? {}) as Raw;
  return { id: num(u.id), username: str(u.username), name: str(u.name) || str(u.username) };
}

function toIssue(v: unknown): GitlabIssue {
  const r = v as Raw;
  const labels = Array.isArray(r.labels) ? r.labels.map((l) => (typeof l === 'string' ? l : str((l as Raw).name))) : [];
  const closedBy = r.closed_by && typeof r.closed_by === 'object' ? toUser(r.closed_by) : undefined;
  return {
    iid: num(r.iid),
    title: str(r.title),
    description: str(r.description),
    state: r.state === 'closed' ? 'closed' : 'opened',
    webUrl: str(r.web_url),
    labels,
    ...(typeof r.due_date === 'string' && r.due_date ? { dueDate: r.due_date } : {}),
    ...(closedBy ? { closedBy } : {}),
  };
}

function toNote(v: unknown): GitlabNote {
  const r = v as Raw;
  return { id: num(r.id), body: str(r.body), author: toUser(r.author), system: r.system === true, createdAt: str(r.created_at) };
}

/** A gitbeaker (or fetch) failure as a GitlabError naming what went wrong, never the token. */
export function toGitlabError(err: unknown, what: string, onIssue = false): GitlabError {
  if (err instanceof GitlabError) return err;
  if (err instanceof GitbeakerRequestError) {
    const cause = err.cause as { description?: string; response?: { status?: number; statusText?: string } } | undefined;
    const status = cause?.response?.status;
    const text = (cause?.description || err.message || '').slice(0, 200);
    const detail = `${what}: ${status ?? ''} ${text}`.replace(/\s+/g, ' ').trim();
    if (status === 401 || status === 403) return new GitlabError('auth', `${detail} (check gitlab.token: it needs the api scope and access to the project)`, status);
    // GitLab says `404 Project Not Found` for the project, `404 Not found` (or `404 Issue Not Found`) for an issue in it.
    if (status === 404) return new GitlabError(onIssue && !/project/i.test(text) ? 'issue-not-found' : 'project-not-found', detail, status);
    if (status === 429) return new GitlabError('rate-limited', detail, status);
    return new GitlabError('api', detail, status);
  }
  if (err instanceof GitbeakerRetryError) return new GitlabError(/429/.test(err.message) ? 'rate-limited' : 'api', `${what}: ${err.message}`);
  if (err instanceof GitbeakerTimeoutError) return new GitlabError('timeout', `${what}: no answer in time`);
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return new GitlabError('timeout', `${what}: no answer in time`);
  const reason = e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
  return new GitlabError('network', `${what}: cannot reach GitLab (${reason})`);
}

export class GitlabClient implements GitlabApi {
  private readonly issues: InstanceType<typeof Issues>;
  private readonly issueNotes: InstanceType<typeof IssueNotes>;
  private readonly users: InstanceType<typeof Users>;
  private readonly project: number | string;

  constructor(opts: GitlabClientOptions) {
    const base = { host: opts.url.replace(/\/+$/, ''), token: opts.token, queryTimeout: opts.timeoutMs ?? 20_000 };
    this.issues = new Issues(base);
    this.issueNotes = new IssueNotes(base);
    this.users = new Users(base);
    this.project = typeof opts.project === 'string' && /^\d+$/.test(opts.project) ? Number(opts.project) : opts.project;
  }

  private async call<T>(what: string, fn: () => Promise<unknown>, read: (v: unknown) => T, onIssue = false): Promise<T> {
    let v: unknown;
    try {
      v = await fn();
    } catch (err) {
      throw toGitlabError(err, what, onIssue);
    }
    return read(v);
  }

  currentUser(): Promise<GitlabUser> {
    return this.call('GET /user', () => this.users.showCurrentUser(), toUser);
  }

  createIssue(issue: NewIssue): Promise<GitlabIssue> {
    return this.call(
      'create issue',
      () =>
        this.issues.create(this.project, issue.title, {
          description: issue.description,
          ...(issue.labels.length > 0 ? { labels: issue.labels.join(',') } : {}),
          ...(issue.dueDate ? { dueDate: issue.dueDate } : {}),
        }),
      toIssue,
    );
  }

  issue(iid: number): Promise<GitlabIssue> {
    return this.call(`issue #${iid}`, () => this.issues.show(iid, { projectId: this.project }), toIssue, true);
  }

  findIssues(text: string): Promise<GitlabIssue[]> {
    return this.call(
      'search issues',
      () => this.issues.all({ projectId: this.project, search: text, orderBy: 'created_at', sort: 'desc', perPage: 20, maxPages: 1 }),
      (v) => (Array.isArray(v) ? v.map(toIssue) : []),
    );
  }

  setIssueState(iid: number, event: 'close' | 'reopen'): Promise<GitlabIssue> {
    return this.call(`${event} issue #${iid}`, () => this.issues.edit(this.project, iid, { stateEvent: event }), toIssue, true);
  }

  notes(iid: number): Promise<GitlabNote[]> {
    return this.call(
      `notes of issue #${iid}`,
      () => this.issueNotes.all(this.project, iid, { sort: 'asc', orderBy: 'created_at', perPage: 100 }),
      (v) => (Array.isArray(v) ? v.map(toNote) : []),
      true,
    );
  }

  addNote(iid: number, body: string): Promise<GitlabNote> {
    return this.call(`note on issue #${iid}`, () => this.issueNotes.create(this.project, iid, body), toNote, true);
  }
}

/**
 * `--check-config --online`: reaches GitLab and names what is wrong. One line per check (URL,
 * token and its scope, project), each `gitlab.<key>: ok (…)` or `gitlab.<key>: error: …`;
 * nothing when GitLab is not configured. See `gitlabCheckFailed`.
 */
export async function checkGitlab(config: Pick<BotConfig, 'gitlab'>, timeoutMs = 10_000): Promise<string[]> {
  const g = config.gitlab;
  if (g.url === undefined || g.token === undefined || g.project === undefined) return [];
  const base = { host: g.url, token: g.token, queryTimeout: timeoutMs };
  const lines: string[] = [];
  // 1. The URL: any answer of GitLab's API (even 401) means it is there.
  let reachable = true;
  let tokenOk = true;
  try {
    const meta = (await new Metadata(base).show()) as Raw;
    lines.push(`gitlab.url: ok (GitLab ${str(meta.version) || 'answers'} at ${g.url})`);
  } catch (err) {
    const e = toGitlabError(err, 'GET /api/v4/metadata');
    if (e.kind === 'auth') {
      lines.push(`gitlab.url: ok (GitLab answers at ${g.url})`);
    } else if (e.kind === 'project-not-found' || e.kind === 'issue-not-found') {
      // Older GitLab (before 15.2) has no /metadata: /version says the same.
      try {
        await new Users(base).showCurrentUser();
        lines.push(`gitlab.url: ok (GitLab answers at ${g.url})`);
      } catch (err2) {
        const e2 = toGitlabError(err2, 'GET /api/v4/user');
        if (e2.kind === 'auth') lines.push(`gitlab.url: ok (GitLab answers at ${g.url})`);
        else {
          reachable = false;
          lines.push(`gitlab.url: error: ${g.url} does not look like GitLab (${e2.message.replace(/^GitLab: /, '')})`);
        }
      }
    } else {
      reachable = false;
      lines.push(`gitlab.url: error: ${e.message.replace(/^GitLab: /, '')}`);
    }
  }
  if (!reachable) return lines;
  // 2. The token: valid (GET /user), with the api scope (GET /personal_access_tokens/self, GitLab 15.5+).
  try {
    const me = toUser(await new Users(base).showCurrentUser());
    let scopes: string[] | undefined;
    try {
      const self = (await new PersonalAccessTokens(base).show()) as Raw;
      scopes = Array.isArray(self.scopes) ? self.scopes.map(str) : undefined;
    } catch {
      scopes = undefined; // an older GitLab, or a token kind without that endpoint: the project check below tells
    }
    if (scopes && !scopes.includes('api')) {
      tokenOk = false;
      lines.push(`gitlab.token: error: the token of ${me.username} lacks the api scope (it has ${scopes.join(', ') || 'none'}); the bot creates issues and notes`);
    } else {
      lines.push(`gitlab.token: ok (user ${me.username}, id ${me.id}${scopes ? `, scopes ${scopes.join(', ')}` : ''})`);
    }
  } catch (err) {
    tokenOk = false;
    const e = toGitlabError(err, 'GET /api/v4/user');
    lines.push(`gitlab.token: error: ${e.kind === 'auth' ? `GitLab refused the token (${e.status ?? 401})` : e.message.replace(/^GitLab: /, '')}`);
  }
  // 3. The project.
  try {
    const p = (await new Projects(base).show(typeof g.project === 'string' && /^\d+$/.test(g.project) ? Number(g.project) : g.project)) as Raw;
    lines.push(`gitlab.project: ok (${str(p.path_with_namespace)}, id ${str(p.id)})`);
  } catch (err) {
    const e = toGitlabError(err, `project ${g.project}`);
    if (e.kind === 'project-not-found' || (e.kind === 'auth' && tokenOk)) lines.push(`gitlab.project: error: project ${JSON.stringify(g.project)} not found (or the token's user cannot see it)`);
    else lines.push(`gitlab.project: error: ${e.message.replace(/^GitLab: /, '')}`);
  }
  return lines;
}

/** Whether a line of `checkGitlab` reports a problem. */
export function gitlabCheckFailed(lines: readonly string[]): boolean {
  return lines.some((l) => /^gitlab\.[a-z]+: error: /.test(l));
}
