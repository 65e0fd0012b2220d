/**
 * The fake GitLab, driven through @gitbeaker/rest itself (the library the bot's adapter is built
 * on): what the library sends must be what the fake understands, and what the fake answers must
 * be what the library reads, the way GitLab's REST API reference describes both.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { GitbeakerRequestError, GitbeakerRetryError, IssueNotes, Issues, Metadata, PersonalAccessTokens, Projects, Users } from '@gitbeaker/rest';
import { FakeGitlab, type FakeGitlabProject, type FakeGitlabUser } from './fake-gitlab';

let fake: FakeGitlab;
let bot: FakeGitlabUser;
let bob: FakeGitlabUser;
let project: FakeGitlabProject;

beforeEach(async () => {
  fake = await FakeGitlab.start();
  bot = fake.addUser({ username: 'sre-bot', name: 'SRE Bot' });
  bob = fake.addUser({ username: 'bob', name: 'Bob Jones' });
  project = fake.addProject('sre/incidents');
});

afterEach(async () => {
  await fake.stop();
});

const as = (u: FakeGitlabUser | { token: string }) => ({ host: fake.url, token: u.token, queryTimeout: 5_000 });

/** The HTTP status a gitbeaker call failed with. */
async function statusOf(p: Promise<unknown>): Promise<number | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(GitbeakerRequestError);
    return (err as GitbeakerRequestError & { cause: { response: Response } }).cause.response.status;
  }
}

test('/user, /metadata and the token: the token user; 401 for a bad or missing token', async () => {
  const me = await new Users(as(bot)).showCurrentUser();
  expect(me).toMatchObject({ id: bot.id, username: 'sre-bot', name: 'SRE Bot' });
  expect(await new Metadata(as(bot)).show()).toMatchObject({ version: fake.version });
  expect(await new PersonalAccessTokens(as(bot)).show()).toMatchObject({ scopes: ['api'], user_id: bot.id, active: true });
  expect(await statusOf(new Users(as({ token: 'nope' })).showCurrentUser())).toBe(401);
  const err = await new Users(as({ token: 'nope' })).showCurrentUser().catch((e: unknown) => e as Error);
  expect((err as Error).message).toBe('401 Unauthorized');
  expect(fake.requests.at(-1)).toMatchObject({ method: 'GET', path: '/api/v4/user', status: 401 });
});

test('projects by id and by URL-encoded path; 404 Project Not Found for an unknown one or one the user cannot see', async () => {
  expect(await new Projects(as(bot)).show(project.id)).toMatchObject({ id: project.id, path_with_namespace: 'sre/incidents' });
  expect(await new Projects(as(bot)).show('sre/incidents')).toMatchObject({ id: project.id });
  expect(fake.requests.at(-1)?.path).toBe('/api/v4/projects/sre%2Fincidents');
  expect(await statusOf(new Projects(as(bot)).show('sre/nothing'))).toBe(404);
  const err = await new Projects(as(bot)).show(999).catch((e: unknown) => e as Error);
  expect((err as Error).message).toBe('404 Project Not Found');
  const secret = fake.addProject('ops/secret', { members: ['bob'] });
  expect(await statusOf(new Projects(as(bot)).show(secret.id))).toBe(404);
  expect(await new Projects(as(bob)).show('ops/secret')).toMatchObject({ id: secret.id });
});

test('issues: create with description, labels and due date; get; close and reopen with state_event (system notes, closed_by)', async () => {
  const issues = new Issues(as(bot));
  const created = await issues.create('sre/incidents', 'HTTPS is down on web-01', { description: '**Host:** web-01', labels: 'incident,critical', dueDate: '2026-11-24' });
  expect(created).toMatchObject({ iid: 1, title: 'HTTPS is down on web-01', description: '**Host:** web-01', labels: ['incident', 'critical'], due_date: '2026-11-24', state: 'opened', author: { id: bot.id } });
  expect(created.web_url).toBe(`${fake.url}/sre/incidents/-/issues/1`);
  expect(fake.requests.at(-1)).toMatchObject({ method: 'POST', status: 201, body: { title: 'HTTPS is down on web-01', due_date: '2026-11-24', labels: 'incident,critical' } });
  expect(await issues.show(1, { projectId: project.id })).toMatchObject({ iid: 1, state: 'opened' });

  const closed = await issues.edit(project.id, 1, { stateEvent: 'close' });
  expect(closed).toMatchObject({ state: 'closed', closed_by: { id: bot.id, username: 'sre-bot' } });
  expect(closed.closed_at).toEqual(expect.any(String));
  expect(await issues.edit(project.id, 1, { stateEvent: 'reopen' })).toMatchObject({ state: 'opened', closed_by: null, closed_at: null });
  const notes = await new IssueNotes(as(bot)).all(project.id, 1, { sort: 'asc' });
  expect(notes.map((n) => [n.body, n.system])).toEqual([['closed', true], ['reopened', true]]);

  expect(await statusOf(issues.show(42, { projectId: project.id }))).toBe(404);
  expect(await statusOf(issues.create(project.id, '   '))).toBe(400);
  expect(await statusOf(issues.edit(project.id, 1, { stateEvent: 'explode' }))).toBe(400);
  // Searching title and description (the bot finds an issue it made before a crash this way).
  await issues.create(project.id, 'Disk full', { description: 'x <!-- sre-bot:event:77 --> y' });
  expect((await issues.all({ projectId: project.id, search: 'sre-bot:event:77' })).map((i) => i.iid)).toEqual([2]);
  expect((await issues.all({ projectId: project.id, state: 'opened' })).map((i) => i.iid)).toEqual([2, 1]);
});

test('notes: create and list; offset pagination with page/per_page, x-next-page/x-total and Link (followed by gitbeaker)', async () => {
  await new Issues(as(bot)).create(project.id, 'Load high');
  const notes = new IssueNotes(as(bot));
  for (let n = 1; n <= 45; n++) await notes.create(project.id, 1, `note ${n}`);
  expect(await statusOf(notes.create(project.id, 1, ' '))).toBe(400);

  const all = await notes.all(project.id, 1, { sort: 'asc', perPage: 20 });
  expect(all.map((n) => n.body)).toEqual(Array.from({ length: 45 }, (_, i) => `note ${i + 1}`));
  expect(fake.requests.filter((r) => r.path.endsWith('/notes') && r.method === 'GET').map((r) => r.query.page ?? '1')).toEqual(['1', '2', '3']);

  const page2 = await notes.all(project.id, 1, { sort: 'asc', perPage: 20, page: 2, showExpanded: true });
  expect(page2.data.map((n) => n.body)).toEqual(Array.from({ length: 20 }, (_, i) => `note ${i + 21}`));
  expect(page2.paginationInfo).toEqual({ total: 45, next: 3, current: 2, previous: 1, perPage: 20, totalPages: 3 });
  const desc = await notes.all(project.id, 1, { perPage: 5, page: 1, showExpanded: true });
  expect(desc.data[0]?.body).toBe('note 45');
  expect(desc.data[0]).toMatchObject({ noteable_type: 'Issue', noteable_iid: 1, system: false, author: { id: bot.id } });
  // per_page is capped at 100, as GitLab caps it.
  expect((await notes.all(project.id, 1, { perPage: 500, page: 1, showExpanded: true })).paginationInfo).toMatchObject({ perPage: 100, totalPages: 1 });
});

test('429 with Retry-After on demand (gitbeaker retries it); 5xx on demand; the down switch resets connections', async () => {
  fake.rateLimitNext(2, 1);
  expect(await new Users(as(bot)).showCurrentUser()).toMatchObject({ id: bot.id });
  expect(fake.requests.map((r) => r.status)).toEqual([429, 429, 200]);
  fake.rateLimitNext(12, 1);
  await expect(new Users(as(bot)).showCurrentUser()).rejects.toBeInstanceOf(GitbeakerRetryError);

  fake.failNext(1, 500);
  expect(await statusOf(new Users(as(bot)).showCurrentUser())).toBe(500);

  fake.down = true;
  await expect(new Users(as(bot)).showCurrentUser()).rejects.toThrow(/fetch failed/);
  fake.down = false;
  expect(await new Users(as(bot)).showCurrentUser()).toMatchObject({ id: bot.id });
});

test('webhooks: the fake POSTs Note Hook and Issue Hook events to the URL it is given, with X-Gitlab-Token', async () => {
  const got: { headers: http.IncomingHttpHeaders; body: Record<string, unknown> }[] = [];
  const receiver = http.createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString('utf8')));
    req.on('end', () => {
      got.push({ headers: req.headers, body: JSON.parse(text) as Record<string, unknown> });
      res.writeHead(200).end('{}');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  try {
    fake.webhook({ url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/gitlab/webhook`, token: 's3cret' });
    await new Issues(as(bot)).create(project.id, 'SSH down');
    const note = fake.addNote(project.id, 1, 'bob', 'Looking at it from the console.');
    fake.setState(project.id, 1, 'bob', 'close');
    await fake.settled();
    expect(got.map((g) => [g.headers['x-gitlab-event'], g.headers['x-gitlab-token'], (g.body.object_attributes as Record<string, unknown>).action])).toEqual([
      ['Issue Hook', 's3cret', 'open'],
      ['Note Hook', 's3cret', 'create'],
      ['Issue Hook', 's3cret', 'close'],
    ]);
    expect(got[1]?.body).toMatchObject({
      object_kind: 'note',
      user: { id: bob.id, username: 'bob', name: 'Bob Jones' },
      project: { id: project.id, path_with_namespace: 'sre/incidents' },
      object_attributes: { id: note.id, note: 'Looking at it from the console.', noteable_type: 'Issue', author_id: bob.id, system: false, url: `${fake.url}/sre/incidents/-/issues/1#note_${note.id}` },
      issue: { iid: 1, state: 'opened' },
    });
    expect(got[2]?.body).toMatchObject({ object_kind: 'issue', user: { id: bob.id }, object_attributes: { iid: 1, state: 'closed', action: 'close' } });
    expect(fake.deliveries.map((d) => d.status)).toEqual([200, 200, 200]);
  } finally {
    receiver.closeAllConnections();
    await new Promise<void>((r) => receiver.close(() => r()));
  }
});
