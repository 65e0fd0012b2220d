/** The GitLab adapter against the fake GitLab (test/support/fake-gitlab.ts), through @gitbeaker/rest. */
import { FakeGitlab, type FakeGitlabProject, type FakeGitlabUser } from '../../test/support/fake-gitlab';
import { testConfig } from '../../test/support/factories';
import { checkGitlab, GitlabClient, GitlabError, gitlabCheckFailed } from './client';

let fake: FakeGitlab;
let bot: FakeGitlabUser;
let project: FakeGitlabProject;

beforeEach(async () => {
  fake = await FakeGitlab.start();
  bot = fake.addUser({ username: 'sre-bot', name: 'SRE Bot' });
  fake.addUser({ username: 'bob', name: 'Bob Jones' });
  project = fake.addProject('sre/incidents');
});

afterEach(() => fake.stop());

const client = (o: { token?: string; project?: number | string } = {}) => new GitlabClient({ url: fake.url, token: o.token ?? bot.token, project: o.project ?? 'sre/incidents', timeoutMs: 3_000 });

async function kindOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(GitlabError);
  return (err as GitlabError).kind;
}

test('issues, notes (all pages, oldest first) and state, in the bot\'s shapes', async () => {
  const c = client();
  expect(await c.currentUser()).toEqual({ id: bot.id, username: 'sre-bot', name: 'SRE Bot' });
  const issue = await c.createIssue({ title: 'HTTPS is down on web-01', description: 'body', labels: ['incident'], dueDate: '2026-11-24' });
  expect(issue).toEqual({ iid: 1, title: 'HTTPS is down on web-01', description: 'body', state: 'opened', webUrl: `${fake.url}/sre/incidents/-/issues/1`, labels: ['incident'], dueDate: '2026-11-24' });
  for (let n = 1; n <= 130; n++) fake.addNote(project.id, 1, 'bob', `n${n}`);
  const notes = await c.notes(1);
  expect(notes).toHaveLength(130);
  expect(notes[0]).toMatchObject({ body: 'n1', author: { username: 'bob', name: 'Bob Jones' }, system: false });
  expect(notes.at(-1)?.body).toBe('n130');
  expect((await c.setIssueState(1, 'close')).closedBy).toEqual({ id: bot.id, username: 'sre-bot', name: 'SRE Bot' });
  expect((await c.issue(1)).state).toBe('closed');
  expect((await c.findIssues('HTTPS is down')).map((i) => i.iid)).toEqual([1]);
});

test('failures become GitlabErrors by kind, never carrying the token', async () => {
  expect(await kindOf(client({ token: 'wrong' }).currentUser())).toBe('auth');
  expect(await kindOf(client({ project: 'sre/none' }).createIssue({ title: 't', description: '', labels: [] }))).toBe('project-not-found');
  expect(await kindOf(client().issue(99))).toBe('issue-not-found');
  expect(await kindOf(client({ project: 'sre/none' }).issue(1))).toBe('project-not-found');
  fake.down = true;
  const err = (await client().currentUser().then(() => undefined, (e: unknown) => e)) as GitlabError;
  expect(err.kind).toBe('network');
  expect(err.message).not.toContain(bot.token);
  fake.down = false;
  fake.failNext(1, 500);
  expect(await kindOf(client().currentUser())).toBe('api');
});

test('checkGitlab: one line per check; names a bad URL, a refused token, a missing api scope, an unknown project', async () => {
  const cfg = (g: Record<string, unknown>) => testConfig({ gitlab: { url: fake.url, token: bot.token, project: 'sre/incidents', ...g } });
  const good = await checkGitlab(cfg({}));
  expect(good).toEqual([`gitlab.url: ok (GitLab ${fake.version} at ${fake.url})`, `gitlab.token: ok (user sre-bot, id ${bot.id}, scopes api)`, `gitlab.project: ok (sre/incidents, id ${project.id})`]);
  expect(gitlabCheckFailed(good)).toBe(false);

  const badToken = await checkGitlab(cfg({ token: 'wrong' }));
  expect(badToken[1]).toBe('gitlab.token: error: GitLab refused the token (401)');
  expect(gitlabCheckFailed(badToken)).toBe(true);

  const reader = fake.addUser({ username: 'reader', name: 'Reader', scopes: ['read_api'] });
  expect((await checkGitlab(cfg({ token: reader.token })))[1]).toBe('gitlab.token: error: the token of reader lacks the api scope (it has read_api); the bot creates issues and notes');

  expect((await checkGitlab(cfg({ project: 'sre/missing' })))[2]).toBe('gitlab.project: error: project "sre/missing" not found (or the token\'s user cannot see it)');

  fake.down = true;
  const down = await checkGitlab(cfg({}));
  expect(down).toHaveLength(1);
  expect(down[0]).toMatch(/^gitlab\.url: error: GET \/api\/v4\/metadata: cannot reach GitLab/);
  expect(await checkGitlab(testConfig({}))).toEqual([]);
});
