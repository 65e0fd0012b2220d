/**
 * A standalone fake of GitLab's REST API (v4) for tests: no GitLab server can run on these
 * machines (no Debian package, no container engine), so this is written from GitLab's public
 * REST API reference (docs.gitlab.com/ee/api/: rest/index, projects, issues, notes, users,
 * personal_access_tokens, metadata, project webhooks' event payloads) and driven through
 * @gitbeaker/rest itself in fake-gitlab.test.ts.
 *
 * A plain `node:http` server on 127.0.0.1 (random port). What it speaks, as GitLab does:
 * - Authentication by `PRIVATE-TOKEN: <token>` (or `Authorization: Bearer <token>`); a missing
 *   or unknown token answers 401 `{"message":"401 Unauthorized"}` (also for `/metadata`).
 * - `GET /api/v4/user`, `GET /api/v4/metadata`, `GET /api/v4/version`,
 *   `GET /api/v4/personal_access_tokens/self` (the token's scopes).
 * - `GET /api/v4/projects/:id` by numeric id or URL-encoded path (`sre%2Fincidents`); an unknown
 *   project (or one the user cannot see) answers 404 `{"message":"404 Project Not Found"}`.
 * - Issues: `GET …/issues` (state, search in title and description, author_id, labels, order_by,
 *   sort), `POST …/issues` (title required: 400 `{"error":"title is missing"}`; description,
 *   labels as a comma list, due_date YYYY-MM-DD), `GET …/issues/:iid` (404
 *   `{"message":"404 Not found"}`), `PUT …/issues/:iid` (state_event close|reopen, title,
 *   description, labels, due_date). Closing and reopening add a system note ("closed"/"reopened")
 *   as GitLab does, and set closed_at / closed_by.
 * - Notes: `GET …/issues/:iid/notes` (sort asc|desc, default desc; order_by created_at|updated_at),
 *   `POST …/issues/:iid/notes` (body required: 400 `{"message":"400 Bad request - Note can't be blank"}`).
 * - Offset pagination on every list: `page`, `per_page` (default 20, max 100) and the headers
 *   `x-total`, `x-total-pages`, `x-per-page`, `x-page`, `x-next-page`, `x-prev-page` and `Link`
 *   (rel="next"/"prev"/"first"/"last"), which @gitbeaker/rest follows.
 * - Webhooks: with `webhook({ url, token })`, every note and issue change (made through the API
 *   or by the test as a person) is POSTed by the fake to that URL as a "Note Hook" or
 *   "Issue Hook" (`X-Gitlab-Event`, `X-Gitlab-Token`, `X-Gitlab-Event-UUID`), with the payloads
 *   of GitLab's webhook events reference; deliveries are logged in `deliveries`.
 *
 * Fault switches: `down = true` resets every connection (GitLab unreachable) until set back;
 * `failNext(n, status)` answers the next n API requests with that status (e.g. 502, 500);
 * `rateLimitNext(n, retryAfterSeconds)` answers 429 with `Retry-After` (GitLab's "Retry later").
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { listenOnLoopback } from './loopback';

export interface FakeGitlabUser {
  id: number;
  username: string;
  name: string;
  token: string;
  scopes: string[];
}

export interface FakeGitlabProject {
  id: number;
  path: string;
  pathWithNamespace: string;
  /** Usernames that may see it (absent: everyone). */
  members?: string[];
}

export interface FakeGitlabNote {
  id: number;
  body: string;
  authorId: number;
  system: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface FakeGitlabIssue {
  id: number;
  iid: number;
  projectId: number;
  title: string;
  description: string;
  state: 'opened' | 'closed';
  labels: string[];
  dueDate: string | null;
  authorId: number;
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  closedById: number | null;
  notes: FakeGitlabNote[];
}

export interface FakeGitlabRequest {
  method: string;
  path: string;
  status: number;
  user?: string;
  query: Record<string, string>;
  body?: Record<string, unknown>;
}

export interface FakeGitlabDelivery {
  event: 'Note Hook' | 'Issue Hook';
  payload: Record<string, unknown>;
  status: number | 'error';
}

type Json = Record<string, unknown>;
type Reply = { status: number; body: unknown; headers?: Record<string, string> };

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(JSON.stringify(body));
  }
}

const iso = (ms: number) => new Date(ms).toISOString();

export class FakeGitlab {
  readonly users: FakeGitlabUser[] = [];
  readonly projects: FakeGitlabProject[] = [];
  readonly issues: FakeGitlabIssue[] = [];
  readonly requests: FakeGitlabRequest[] = [];
  readonly deliveries: FakeGitlabDelivery[] = [];
  /** When true, every connection is reset at once (GitLab unreachable). */
  down = false;
  version = '17.5.1';
  private failures: number[] = [];
  private rateLimits: number[] = [];
  private hook: { url: string; token: string } | undefined;
  private pendingDeliveries = new Set<Promise<void>>();
  private nextIds = { user: 1, project: 1, issue: 1000, note: 5000 };
  /** Time source for timestamps (tests may fix it). */
  now: () => number = () => Date.now();

  private constructor(private readonly server: http.Server) {
    server.on('request', (req, res) => void this.handle(req, res));
  }

  static async start(): Promise<FakeGitlab> {
    return new FakeGitlab(await listenOnLoopback());
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await Promise.allSettled([...this.pendingDeliveries]);
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  // -------------------------------------------------------------------------------------------
  // Set-up and acting as a person.

  addUser(u: { username: string; name: string; token?: string; scopes?: string[] }): FakeGitlabUser {
    const user: FakeGitlabUser = { id: this.nextIds.user++, username: u.username, name: u.name, token: u.token ?? `glpat-${u.username}-${randomUUID().slice(0, 8)}`, scopes: u.scopes ?? ['api'] };
    this.users.push(user);
    return user;
  }

  addProject(pathWithNamespace: string, opts: { members?: string[] } = {}): FakeGitlabProject {
    const p: FakeGitlabProject = { id: this.nextIds.project++, path: pathWithNamespace.split('/').pop() as string, pathWithNamespace, ...(opts.members ? { members: opts.members } : {}) };
    this.projects.push(p);
    return p;
  }

  /** Webhook deliveries go to this URL with this secret (X-Gitlab-Token); undefined stops them. */
  webhook(target: { url: string; token: string } | undefined): void {
    this.hook = target;
  }

  failNext(n: number, status = 502): void {
    for (let i = 0; i < n; i++) this.failures.push(status);
  }

  rateLimitNext(n: number, retryAfterSeconds = 1): void {
    for (let i = 0; i < n; i++) this.rateLimits.push(retryAfterSeconds);
  }

  issue(projectId: number, iid: number): FakeGitlabIssue | undefined {
    return this.issues.find((i) => i.projectId === projectId && i.iid === iid);
  }

  issuesOf(projectId: number): FakeGitlabIssue[] {
    return this.issues.filter((i) => i.projectId === projectId);
  }

  /** A person adds a note on GitLab (as in the web UI): stored, and the Note Hook is delivered. */
  addNote(projectId: number, iid: number, username: string, body: string): FakeGitlabNote {
    const issue = this.issueOrThrow(projectId, iid);
    return this.createNote(issue, this.userOrThrow(username), body, false);
  }

  /** A person closes or reopens an issue on GitLab (the Issue Hook is delivered). */
  setState(projectId: number, iid: number, username: string, event: 'close' | 'reopen'): FakeGitlabIssue {
    const issue = this.issueOrThrow(projectId, iid);
    this.changeState(issue, this.userOrThrow(username), event);
    return issue;
  }

  /** Resolves when every webhook delivery started so far has been answered (or failed). */
  async settled(): Promise<void> {
    while (this.pendingDeliveries.size > 0) await Promise.allSettled([...this.pendingDeliveries]);
  }

  private issueOrThrow(projectId: number, iid: number): FakeGitlabIssue {
    const i = this.issue(projectId, iid);
    if (!i) throw new Error(`fake GitLab: no issue #${iid} in project ${projectId}`);
    return i;
  }

  private userOrThrow(username: string): FakeGitlabUser {
    const u = this.users.find((x) => x.username === username);
    if (!u) throw new Error(`fake GitLab: no user ${username}`);
    return u;
  }

  // -------------------------------------------------------------------------------------------
  // The wire.

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (this.down) {
      req.socket.destroy();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://x');
    const query = Object.fromEntries(url.searchParams.entries());
    const raw = await new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
    // The path as sent: encoded project paths (`sre%2Fincidents`) stay one segment.
    const path = (req.url ?? '/').split('?')[0] as string;
    const entry: FakeGitlabRequest = { method: req.method ?? 'GET', path, status: 0, query };
    let body: Json = {};
    if (raw) {
      try {
        body = (req.headers['content-type'] ?? '').includes('application/json') ? (JSON.parse(raw) as Json) : Object.fromEntries(new URLSearchParams(raw).entries());
      } catch {
        return this.send(res, entry, { status: 400, body: { message: '400 Bad request - the body is not valid JSON' } });
      }
      entry.body = body;
    }
    const limit = this.rateLimits.shift();
    if (limit !== undefined) {
      return this.send(res, entry, { status: 429, body: 'Retry later\n', headers: { 'retry-after': String(limit), 'ratelimit-limit': '600', 'ratelimit-remaining': '0', 'ratelimit-reset': String(Math.floor(this.now() / 1000) + limit) } });
    }
    const fail = this.failures.shift();
    if (fail !== undefined) return this.send(res, entry, { status: fail, body: fail >= 500 ? { message: `${fail} Internal Server Error` } : { message: String(fail) } });
    try {
      if (!path.startsWith('/api/v4/')) throw new HttpError(404, { error: '404 Not Found' });
      const user = this.authenticate(req);
      entry.user = user.username;
      this.send(res, entry, this.route(entry.method, path.slice('/api/v4'.length), query, body, user));
    } catch (err) {
      if (err instanceof HttpError) return this.send(res, entry, { status: err.status, body: err.body });
      this.send(res, entry, { status: 500, body: { message: `500 Internal Server Error: ${(err as Error).message}` } });
    }
  }

  private send(res: http.ServerResponse, entry: FakeGitlabRequest, reply: Reply): void {
    entry.status = reply.status;
    this.requests.push(entry);
    const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
    res.writeHead(reply.status, { 'content-type': typeof reply.body === 'string' ? 'text/plain' : 'application/json', ...(reply.headers ?? {}) });
    res.end(text);
  }

  private authenticate(req: http.IncomingMessage): FakeGitlabUser {
    const header = req.headers['private-token'];
    const bearer = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    const token = typeof header === 'string' ? header : bearer;
    const user = token === undefined ? undefined : this.users.find((u) => u.token === token);
    if (!user) throw new HttpError(401, { message: '401 Unauthorized' });
    return user;
  }

  private route(method: string, path: string, q: Record<string, string>, body: Json, user: FakeGitlabUser): Reply {
    const seg = path.split('/').filter(Boolean);
    const m = (pattern: string) => method === pattern;
    if (seg[0] === 'user' && seg.length === 1 && m('GET')) return { status: 200, body: this.userJson(user, true) };
    if (seg[0] === 'metadata' && m('GET')) return { status: 200, body: { version: this.version, revision: 'fake', kas: { enabled: false, externalUrl: null, version: null }, enterprise: false } };
    if (seg[0] === 'version' && m('GET')) return { status: 200, body: { version: this.version, revision: 'fake' } };
    if (seg[0] === 'personal_access_tokens' && seg[1] === 'self' && m('GET')) {
      return { status: 200, body: { id: user.id * 10, name: `${user.username} token`, revoked: false, created_at: iso(0), scopes: user.scopes, user_id: user.id, last_used_at: iso(this.now()), active: true, expires_at: null } };
    }
    if (seg[0] !== 'projects' || seg[1] === undefined) throw new HttpError(404, { error: '404 Not Found' });
    const project = this.findProject(decodeURIComponent(seg[1]), user);
    if (seg.length === 2 && m('GET')) return { status: 200, body: this.projectJson(project) };
    if (seg[2] !== 'issues') throw new HttpError(404, { error: '404 Not Found' });
    if (seg.length === 3) {
      if (m('GET')) return this.listIssues(project, q, user);
      if (m('POST')) return { status: 201, body: this.issueJson(this.createIssue(project, body, user)) };
      throw new HttpError(405, { message: '405 Method Not Allowed' });
    }
    const iid = Number(seg[3]);
    const issue = this.issue(project.id, iid);
    if (!issue || !Number.isInteger(iid)) throw new HttpError(404, { message: '404 Not found' });
    if (seg.length === 4) {
      if (m('GET')) return { status: 200, body: this.issueJson(issue) };
      if (m('PUT')) return { status: 200, body: this.issueJson(this.editIssue(issue, body, user)) };
      throw new HttpError(405, { message: '405 Method Not Allowed' });
    }
    if (seg[4] === 'notes' && seg.length === 5) {
      if (m('GET')) {
        const order = q.order_by === 'updated_at' ? 'updatedAt' : 'createdAt';
        const notes = [...issue.notes].sort((a, b) => a[order].localeCompare(b[order]) || a.id - b.id);
        if ((q.sort ?? 'desc') === 'desc') notes.reverse();
        return this.page(notes.map((n) => this.noteJson(issue, n)), q, `/api/v4/projects/${seg[1]}/issues/${iid}/notes`);
      }
      if (m('POST')) {
        const text = typeof body.body === 'string' ? body.body : '';
        if (!text.trim()) throw new HttpError(400, { message: "400 Bad request - Note can't be blank" });
        return { status: 201, body: this.noteJson(issue, this.createNote(issue, user, text, false)) };
      }
    }
    throw new HttpError(404, { error: '404 Not Found' });
  }

  private findProject(idOrPath: string, user: FakeGitlabUser): FakeGitlabProject {
    const p = /^\d+$/.test(idOrPath) ? this.projects.find((x) => x.id === Number(idOrPath)) : this.projects.find((x) => x.pathWithNamespace.toLowerCase() === idOrPath.toLowerCase());
    if (!p || (p.members && !p.members.includes(user.username))) throw new HttpError(404, { message: '404 Project Not Found' });
    return p;
  }

  private listIssues(project: FakeGitlabProject, q: Record<string, string>, user: FakeGitlabUser): Reply {
    void user;
    let list = this.issuesOf(project.id);
    if (q.state && q.state !== 'all') list = list.filter((i) => i.state === q.state);
    if (q.search) list = list.filter((i) => `${i.title}\n${i.description}`.toLowerCase().includes(q.search!.toLowerCase()));
    if (q.author_id) list = list.filter((i) => i.authorId === Number(q.author_id));
    if (q.labels) {
      const want = q.labels.split(',').map((l) => l.trim().toLowerCase());
      list = list.filter((i) => want.every((l) => i.labels.map((x) => x.toLowerCase()).includes(l)));
    }
    const key = q.order_by === 'updated_at' ? 'updatedAt' : 'createdAt';
    list = [...list].sort((a, b) => a[key].localeCompare(b[key]) || a.id - b.id);
    if ((q.sort ?? 'desc') === 'desc') list.reverse();
    return this.page(list.map((i) => this.issueJson(i)), q, `/api/v4/projects/${project.id}/issues`);
  }

  /** GitLab's offset pagination: the page asked for, and the headers that describe the rest. */
  private page(items: unknown[], q: Record<string, string>, base: string): Reply {
    const perPage = Math.min(100, Math.max(1, Number(q.per_page ?? 20) || 20));
    const total = items.length;
    const totalPages = Math.max(1, Math.ceil(total / perPage));
    const page = Math.max(1, Number(q.page ?? 1) || 1);
    const slice = items.slice((page - 1) * perPage, page * perPage);
    const link = (p: number) => {
      const params = new URLSearchParams({ ...q, page: String(p), per_page: String(perPage) });
      return `${this.url}${base}?${params.toString()}`;
    };
    const links = [
      ...(page < totalPages ? [`<${link(page + 1)}>; rel="next"`] : []),
      ...(page > 1 ? [`<${link(page - 1)}>; rel="prev"`] : []),
      `<${link(1)}>; rel="first"`,
      `<${link(totalPages)}>; rel="last"`,
    ];
    return {
      status: 200,
      body: slice,
      headers: {
        'x-total': String(total),
        'x-total-pages': String(totalPages),
        'x-per-page': String(perPage),
        'x-page': String(page),
        'x-next-page': page < totalPages ? String(page + 1) : '',
        'x-prev-page': page > 1 ? String(page - 1) : '',
        link: links.join(', '),
      },
    };
  }

  private createIssue(project: FakeGitlabProject, body: Json, user: FakeGitlabUser): FakeGitlabIssue {
    const title = typeof body.title === 'string' ? body.title.trim() : '';
    if (!title) throw new HttpError(400, { error: 'title is missing' });
    const due = body.due_date === undefined || body.due_date === null ? null : String(body.due_date);
    if (due !== null && !/^\d{4}-\d{2}-\d{2}$/.test(due)) throw new HttpError(400, { message: { due_date: ['is not a valid date'] } });
    const at = iso(this.now());
    const issue: FakeGitlabIssue = {
      id: this.nextIds.issue++,
      iid: this.issuesOf(project.id).length + 1,
      projectId: project.id,
      title: title.slice(0, 255),
      description: typeof body.description === 'string' ? body.description : '',
      state: 'opened',
      labels: labelsOf(body.labels),
      dueDate: due,
      authorId: user.id,
      createdAt: at,
      updatedAt: at,
      closedAt: null,
      closedById: null,
      notes: [],
    };
    this.issues.push(issue);
    this.deliver('Issue Hook', this.issueHook(issue, user, 'open'));
    return issue;
  }

  private editIssue(issue: FakeGitlabIssue, body: Json, user: FakeGitlabUser): FakeGitlabIssue {
    if (typeof body.title === 'string') issue.title = body.title;
    if (typeof body.description === 'string') issue.description = body.description;
    if (body.labels !== undefined) issue.labels = labelsOf(body.labels);
    if (body.due_date !== undefined) issue.dueDate = body.due_date === null || body.due_date === '' ? null : String(body.due_date);
    const event = body.state_event;
    if (event !== undefined && event !== 'close' && event !== 'reopen') throw new HttpError(400, { error: 'state_event does not have a valid value' });
    issue.updatedAt = iso(this.now());
    if (event === 'close' || event === 'reopen') this.changeState(issue, user, event);
    else this.deliver('Issue Hook', this.issueHook(issue, user, 'update'));
    return issue;
  }

  private changeState(issue: FakeGitlabIssue, user: FakeGitlabUser, event: 'close' | 'reopen'): void {
    const want = event === 'close' ? 'closed' : 'opened';
    if (issue.state === want) return; // GitLab answers 200 and changes nothing
    issue.state = want;
    issue.updatedAt = iso(this.now());
    issue.closedAt = event === 'close' ? issue.updatedAt : null;
    issue.closedById = event === 'close' ? user.id : null;
    // GitLab records a state change as a system note by the user who made it.
    this.createNote(issue, user, event === 'close' ? 'closed' : 'reopened', true);
    this.deliver('Issue Hook', this.issueHook(issue, user, event));
  }

  private createNote(issue: FakeGitlabIssue, user: FakeGitlabUser, body: string, system: boolean): FakeGitlabNote {
    const at = iso(this.now());
    const note: FakeGitlabNote = { id: this.nextIds.note++, body, authorId: user.id, system, createdAt: at, updatedAt: at };
    issue.notes.push(note);
    issue.updatedAt = at;
    // GitLab sends no Note Hook for system notes.
    if (!system) this.deliver('Note Hook', this.noteHook(issue, note, user));
    return note;
  }

  // -------------------------------------------------------------------------------------------
  // JSON as GitLab writes it.

  private userJson(u: FakeGitlabUser, full = false): Json {
    const base: Json = { id: u.id, username: u.username, name: u.name, state: 'active', locked: false, avatar_url: null, web_url: `${this.url}/${u.username}` };
    return full ? { ...base, created_at: iso(0), bio: '', public_email: null, bot: u.username.includes('bot') } : base;
  }

  private projectJson(p: FakeGitlabProject): Json {
    return {
      id: p.id,
      name: p.path,
      path: p.path,
      path_with_namespace: p.pathWithNamespace,
      name_with_namespace: p.pathWithNamespace.replace(/\//g, ' / '),
      web_url: `${this.url}/${p.pathWithNamespace}`,
      default_branch: 'main',
      visibility: 'private',
      issues_enabled: true,
    };
  }

  private issueWebUrl(i: FakeGitlabIssue): string {
    const p = this.projects.find((x) => x.id === i.projectId) as FakeGitlabProject;
    return `${this.url}/${p.pathWithNamespace}/-/issues/${i.iid}`;
  }

  private issueJson(i: FakeGitlabIssue): Json {
    const author = this.users.find((u) => u.id === i.authorId);
    const closer = i.closedById === null ? undefined : this.users.find((u) => u.id === i.closedById);
    return {
      id: i.id,
      iid: i.iid,
      project_id: i.projectId,
      title: i.title,
      description: i.description,
      state: i.state,
      created_at: i.createdAt,
      updated_at: i.updatedAt,
      closed_at: i.closedAt,
      closed_by: closer ? this.userJson(closer) : null,
      labels: i.labels,
      milestone: null,
      assignees: [],
      author: author ? this.userJson(author) : null,
      type: 'ISSUE',
      issue_type: 'issue',
      user_notes_count: i.notes.filter((n) => !n.system).length,
      due_date: i.dueDate,
      confidential: false,
      discussion_locked: null,
      web_url: this.issueWebUrl(i),
      references: { short: `#${i.iid}`, relative: `#${i.iid}`, full: `${(this.projects.find((x) => x.id === i.projectId) as FakeGitlabProject).pathWithNamespace}#${i.iid}` },
    };
  }

  private noteJson(i: FakeGitlabIssue, n: FakeGitlabNote): Json {
    const author = this.users.find((u) => u.id === n.authorId) as FakeGitlabUser;
    return {
      id: n.id,
      type: null,
      body: n.body,
      attachment: null,
      author: this.userJson(author),
      created_at: n.createdAt,
      updated_at: n.updatedAt,
      system: n.system,
      noteable_id: i.id,
      noteable_type: 'Issue',
      project_id: i.projectId,
      noteable_iid: i.iid,
      resolvable: false,
      confidential: false,
      internal: false,
    };
  }

  private hookProject(i: FakeGitlabIssue): Json {
    const p = this.projects.find((x) => x.id === i.projectId) as FakeGitlabProject;
    return { id: p.id, name: p.path, web_url: `${this.url}/${p.pathWithNamespace}`, path_with_namespace: p.pathWithNamespace, namespace: p.pathWithNamespace.split('/')[0], default_branch: 'main' };
  }

  private hookUser(u: FakeGitlabUser): Json {
    return { id: u.id, name: u.name, username: u.username, avatar_url: null, email: '[REDACTED]' };
  }

  private hookIssue(i: FakeGitlabIssue): Json {
    return {
      id: i.id,
      iid: i.iid,
      title: i.title,
      description: i.description,
      state: i.state,
      project_id: i.projectId,
      author_id: i.authorId,
      created_at: i.createdAt,
      updated_at: i.updatedAt,
      closed_at: i.closedAt,
      due_date: i.dueDate,
      url: this.issueWebUrl(i),
    };
  }

  private noteHook(i: FakeGitlabIssue, n: FakeGitlabNote, user: FakeGitlabUser): Json {
    return {
      object_kind: 'note',
      event_type: 'note',
      user: this.hookUser(user),
      project_id: i.projectId,
      project: this.hookProject(i),
      object_attributes: {
        id: n.id,
        note: n.body,
        noteable_type: 'Issue',
        author_id: n.authorId,
        created_at: n.createdAt,
        updated_at: n.updatedAt,
        project_id: i.projectId,
        attachment: null,
        line_code: null,
        commit_id: '',
        noteable_id: i.id,
        system: n.system,
        st_diff: null,
        action: 'create',
        url: `${this.issueWebUrl(i)}#note_${n.id}`,
      },
      issue: this.hookIssue(i),
    };
  }

  private issueHook(i: FakeGitlabIssue, user: FakeGitlabUser, action: 'open' | 'close' | 'reopen' | 'update'): Json {
    return {
      object_kind: 'issue',
      event_type: 'issue',
      user: this.hookUser(user),
      project: this.hookProject(i),
      object_attributes: { ...this.hookIssue(i), action, state_id: i.state === 'opened' ? 1 : 2 },
      labels: i.labels.map((title, n) => ({ id: n + 1, title })),
      changes: action === 'close' || action === 'reopen' ? { state_id: { previous: action === 'close' ? 1 : 2, current: action === 'close' ? 2 : 1 } } : {},
    };
  }

  private deliver(event: 'Note Hook' | 'Issue Hook', payload: Json): void {
    const hook = this.hook;
    if (!hook) return;
    const delivery: FakeGitlabDelivery = { event, payload, status: 'error' };
    this.deliveries.push(delivery);
    const p = (async () => {
      try {
        const res = await fetch(hook.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-gitlab-event': event, 'x-gitlab-token': hook.token, 'x-gitlab-event-uuid': randomUUID(), 'user-agent': `GitLab/${this.version}` },
          body: JSON.stringify(payload),
          signal: AbortSignal.timeout(10_000),
        });
        await res.text();
        delivery.status = res.status;
      } catch {
        delivery.status = 'error';
      }
    })();
    this.pendingDeliveries.add(p);
    void p.finally(() => this.pendingDeliveries.delete(p));
  }
}

/** `labels` as GitLab takes it: a comma-separated string (or an array). */
function labelsOf(v: unknown): string[] {
  const list = Array.isArray(v) ? v.map(String) : typeof v === 'string' ? v.split(',') : [];
  return [...new Set(list.map((l) => l.trim()).filter(Boolean))];
}
