/**
 * GitLab tracking in-process: the whole app (test/support/harness.ts) with the real adapter
 * (@gitbeaker/rest) against the fake GitLab server.
 */
import { FakeGitlab, type FakeGitlabProject, type FakeGitlabUser } from '../../../test/support/fake-gitlab';
import { inProcessBot, type BotOptions, type InProcessBot } from '../../../test/support/harness';
import { GitlabClient } from '../../gitlab/client';
import { resolve, type Incident } from '../../domain/incident';

let fake: FakeGitlab;
let botUser: FakeGitlabUser;
let project: FakeGitlabProject;

beforeEach(async () => {
  fake = await FakeGitlab.start();
  botUser = fake.addUser({ username: 'sre-bot', name: 'SRE Bot' });
  fake.addUser({ username: 'bob', name: 'Bob Jones' });
  project = fake.addProject('sre/incidents');
});

afterEach(() => fake.stop());

async function bot(gitlab: Record<string, unknown> = {}, opts: BotOptions = {}): Promise<InProcessBot> {
  const client = new GitlabClient({ url: fake.url, token: botUser.token, project: 'sre/incidents', timeoutMs: 3_000 });
  return inProcessBot({ ...opts, gitlab: client, config: { gitlab: { url: fake.url, token: botUser.token, project: 'sre/incidents', ...gitlab }, ...(opts.config ?? {}) } });
}

const issues = () => fake.issuesOf(project.id);
const notesOf = (iid: number) => (fake.issue(project.id, iid)?.notes ?? []).filter((n) => !n.system);

test('an alert opens one issue (title, body, labels, due date), ✔️ on the alert post, the link said once; issueLine for the card', async () => {
  const b = await bot();
  const post = await b.alert({ eventId: '7001', trigger: 'HTTPS is down on web-01.example.org' });
  expect(issues()).toHaveLength(1);
  const issue = issues()[0]!;
  expect(issue.title).toBe('HTTPS is down on web-01.example.org');
  expect(issue.labels).toEqual(['incident']);
  // Opened 2026-11-23 10:00 CET; critical: resolve within 16h → 2026-11-24 02:00 CET.
  expect(issue.dueDate).toBe('2026-11-24');
  expect(issue.description).toContain('- **Host:** web-01.example.org');
  expect(issue.description).toContain('- **Severity:** High (critical)');
  expect(issue.description).toContain('- **Zabbix:** [event 7001](https://zabbix.example.org/tr_events.php?triggerid=100&eventid=7001)');
  expect(issue.description).toContain('- **Zulip topic:** [SRE # Critical > web-01.example.org](https://chat.example.org/#narrow/channel/1-SRE-.23-Critical/topic/web-01.2Eexample.2Eorg)');
  expect(issue.description).toContain('- **SLA deadline:** resolve by 2026-11-24 02:00 CET');
  expect(b.reactions()).toContainEqual({ messageId: post.id, emojiName: 'check_mark' });
  const said = b.replies().filter((r) => r.content.includes('GitLab issue'));
  expect(said).toEqual([{ stream: 'SRE # Critical', topic: 'web-01.example.org', content: `📋 GitLab issue [#1](${fake.url}/sre/incidents/-/issues/1) tracks **HTTPS is down on web-01.example.org** (event 7001); messages here are added to it as notes.` }]);
  expect(b.app.gitlab?.issueLine('7001')).toBe(`GitLab: [#1](${fake.url}/sre/incidents/-/issues/1) (open)`);

  // The same post again, and the same trigger firing again (a new event) while the issue is open: no second issue.
  await b.alert({ eventId: '7001', trigger: 'HTTPS is down on web-01.example.org' });
  await b.alert({ eventId: '7002', trigger: 'HTTPS is down on web-01.example.org' });
  expect(issues()).toHaveLength(1);
  expect(notesOf(1).map((n) => n.body)).toEqual([expect.stringContaining('fired again in Zabbix: event 7002')]);
  expect(b.app.gitlab?.issueLine('7002')).toContain('[#1]');
});

test('non-critical issues are named as the Lynx project; informational ones get none unless configured', async () => {
  const b = await bot();
  await b.alert({ eventId: '8001', host: 'db-02.example.org', severity: 'Warning', trigger: 'Free disk space is less than 20% on /var' });
  await b.alert({ eventId: '8002', host: 'db-02.example.org', severity: 'Information', trigger: 'Backup took long' });
  expect(issues().map((i) => [i.title, i.dueDate])).toEqual([['Delft Solutions Hosting Incident response work 2026-11 Free disk space is less than 20% on /var on db-02.example.org', '2026-11-30']]);
  expect(issues()[0]?.description).toContain('**Lynx project:** Delft Solutions Hosting Incident response work 2026-11 Free disk space is less than 20% on /var on db-02.example.org (suggested ID SRE2611DBE)');
});

test('!track and !incident open issues; !gitlab creates one by hand, !gitlab #N links an existing one', async () => {
  const b = await bot({ classes: ['critical'] });
  await b.say('!track critical', { topic: 'customer portal slow' });
  expect(issues().map((i) => i.title)).toEqual(['customer portal slow']);
  await b.say('!incident critical mail-01 Mail queue stuck', { stream: 'SRE - General', topic: 'reports' });
  expect(issues().map((i) => i.title)).toEqual(['customer portal slow', 'Mail queue stuck on mail-01']);
  expect(issues()[1]?.description).toContain('- **Zabbix:** none (reported by hand by Ann Smith');

  // Non-critical is not tracked here: `!gitlab` makes its issue by hand.
  await b.alert({ eventId: '9001', host: 'db-03', severity: 'Average', trigger: 'Replication lag' });
  expect(issues()).toHaveLength(2);
  await b.say('!gitlab', { stream: 'SRE ## Non-critical', topic: 'db-03' });
  expect(issues()).toHaveLength(3);
  b.replies();
  await b.say('!gitlab', { stream: 'SRE ## Non-critical', topic: 'db-03' });
  expect(b.replies().map((r) => r.content)).toEqual([`GitLab: [#3](${fake.url}/sre/incidents/-/issues/3) (open) — Replication lag (event 9001)`]);

  // An existing issue, made by a person, with a note of its own that is not posted.
  fake.setState(project.id, 3, 'bob', 'close');
  await b.alert({ eventId: '9100', host: 'db-04', severity: 'Average', trigger: 'Replication broken' });
  await b.say('!gitlab #3', { stream: 'SRE ## Non-critical', topic: 'db-04' });
  expect(b.replies().map((r) => r.content)).toContainEqual(expect.stringContaining(`🔗 GitLab issue [#3](${fake.url}/sre/incidents/-/issues/3) (Delft Solutions Hosting Incident response work 2026-11 Replication lag on db-03, closed) now tracks **Replication broken** (event 9100), linked by Ann Smith.`));
  await b.say('!gitlab #77', { stream: 'SRE ## Non-critical', topic: 'db-04' });
  expect(b.replies().map((r) => r.content)).toContainEqual('⚠️ There is no GitLab issue #77 in the project (sre/incidents): nothing linked.');
  await b.say('!gitlab', { topic: 'nothing-here' });
  expect(b.replies().map((r) => r.content)[0]).toMatch(/^No incident is tracked in this topic/);
});

test('both ways without echo: topic messages become notes, people\'s GitLab notes are posted once, the bot\'s own never', async () => {
  const b = await bot({ syncEvery: '1m' });
  const post = await b.alert({ eventId: '7001' });
  b.replies();
  const m = await b.say('Load balancer shows the backend down; restarting nginx.');
  await b.say('!ack on it');
  expect(notesOf(1).map((n) => n.body)).toEqual([
    `**Ann Smith** wrote in Zulip ([message](https://chat.example.org/#narrow/channel/1-SRE-.23-Critical/topic/web-01.2Eexample.2Eorg/near/${m.id})):\n\n> Load balancer shows the backend down; restarting nginx.`,
  ]);
  fake.addNote(project.id, 1, 'bob', 'Seen from GitLab: the certificate expired too.\n@**all** look');
  await b.advance('61s');
  const posted = b.replies().filter((r) => r.content.startsWith('💬'));
  expect(posted).toHaveLength(1);
  expect(posted[0]?.content).toMatch(/^💬 \*\*Bob Jones\*\* \(bob\) on GitLab, \[#1 note\]\(.*\/sre\/incidents\/-\/issues\/1#note_\d+\):\n> Seen from GitLab: the certificate expired too\.\n> @_\*\*all\*\* look$/);
  await b.advance('61s');
  await b.advance('61s');
  expect(b.replies().filter((r) => r.content.startsWith('💬'))).toHaveLength(0);
  expect(post.id).toBeGreaterThan(0);
});

test('resolving closes the issue with a note; a reopen reopens it; ✔ and un-✔ too; OK from Zabbix too', async () => {
  const b = await bot();
  await b.alert({ eventId: '7001' });
  await b.say('!resolve fixed the certificate');
  expect(fake.issue(project.id, 1)?.state).toBe('closed');
  expect(notesOf(1).at(-1)?.body).toBe('Resolved in Zulip by Ann Smith (resolved by hand in Zulip): HTTPS is down on web-01.example.org (event 7001). Closing this issue.');
  // Zabbix posts the problem again: the incident reopens, and so does the issue.
  await b.alert({ eventId: '7001' });
  expect(fake.issue(project.id, 1)?.state).toBe('opened');
  expect(notesOf(1).at(-1)?.body).toBe('Open again (Zabbix posted the problem again, Zabbix): reopening this issue.');
  await b.moveTopic('web-01.example.org', '✔ web-01.example.org');
  expect(fake.issue(project.id, 1)?.state).toBe('closed');
  await b.moveTopic('✔ web-01.example.org', 'web-01.example.org');
  expect(fake.issue(project.id, 1)?.state).toBe('opened');
  await b.alert({ eventId: '7001', status: 'OK' });
  expect(fake.issue(project.id, 1)?.state).toBe('closed');
  expect(b.app.gitlab?.issueLine('7001')).toContain('(closed)');
});

test('the periodic sync closing an issue names the resolution as the resolving job would (whichever runs first)', async () => {
  const b = await bot({ syncEvery: '1m' });
  await b.alert({ eventId: '7001' });
  await b.advance('10s');
  // Resolved with no job told (as if the sync ran before the job the resolution queued).
  const i = b.store.getIncident('7001') as Incident;
  b.store.putIncident(resolve(i, { at: b.clock.now(), by: 'Ann Smith', resolution: 'manual' }));
  await b.advance('2m', { everySecond: true });
  expect(fake.issue(project.id, 1)?.state).toBe('closed');
  expect(notesOf(1).at(-1)?.body).toBe('Resolved in Zulip by Ann Smith (resolved by hand in Zulip): HTTPS is down on web-01.example.org (event 7001). Closing this issue.');
});

test('closed on GitLab: said in the topic; with closeResolves the incident is resolved', async () => {
  const b = await bot({ closeResolves: true });
  await b.alert({ eventId: '7001' });
  fake.setState(project.id, 1, 'bob', 'close');
  await b.advance('61s');
  expect(b.replies().map((r) => r.content)).toContainEqual(`🔒 GitLab issue [#1](${fake.url}/sre/incidents/-/issues/1) was closed on GitLab by Bob Jones. Resolved here: **HTTPS is down on web-01.example.org** (event 7001).`);
  expect(b.store.getIncident('7001')).toMatchObject({ status: 'resolved', resolvedBy: 'Bob Jones (GitLab)' });
});

test('GitLab down: chat goes on, one notice in SRE - General, one on recovery, and what waited is synced then', async () => {
  const b = await bot();
  fake.down = true;
  await b.alert({ eventId: '7001' });
  await b.say('first message while GitLab is down');
  await b.say('second one');
  expect(b.replies().filter((r) => r.stream === 'SRE - General').map((r) => r.content)).toEqual([expect.stringMatching(/^⚠️ GitLab sync is failing \(.*cannot reach GitLab.*\)\. The chat keeps working/)]);
  await b.advance('1m', { everySecond: false });
  await b.advance('1m');
  expect(b.app.health().gitlab).toMatchObject({ configured: true, failing: true });
  expect(b.replies().filter((r) => r.stream === 'SRE - General')).toHaveLength(0);
  fake.down = false;
  for (let n = 0; n < 5 && notesOf(1).length < 2; n++) await b.advance('1m');
  expect(issues()).toHaveLength(1);
  expect(notesOf(1).map((x) => x.body.split('\n').at(-1))).toEqual(['> first message while GitLab is down', '> second one']);
  expect(b.all().filter((r) => r.stream === 'SRE - General').map((r) => r.content)).toEqual([expect.stringMatching(/^⚠️ GitLab sync is failing/), expect.stringMatching(/^✅ GitLab answers again(: catching up on \d+ waiting changes? now)?\.$/)]);
  expect(b.app.health().gitlab).toMatchObject({ failing: false });
});

test('the webhook: X-Gitlab-Token checked; a Note Hook is posted once, the bot\'s own notes are not', async () => {
  const b = await bot({ webhookToken: 'hook-secret' });
  await b.alert({ eventId: '7001' });
  b.replies();
  const route = b.app.httpRoutes[0]!;
  expect(route).toMatchObject({ method: 'POST', path: '/gitlab/webhook' });
  expect((await route.handle({ headers: { 'x-gitlab-token': 'wrong' }, body: '{}' })).status).toBe(401);
  const received: string[] = [];
  const note = fake.addNote(project.id, 1, 'bob', 'from the hook');
  const payload = {
    object_kind: 'note',
    user: { id: 2, name: 'Bob Jones', username: 'bob' },
    project: { id: project.id, path_with_namespace: 'sre/incidents' },
    object_attributes: { id: note.id, note: 'from the hook', noteable_type: 'Issue', author_id: 2, system: false, url: `${fake.url}/sre/incidents/-/issues/1#note_${note.id}` },
    issue: { iid: 1, state: 'opened' },
  };
  for (let n = 0; n < 2; n++) received.push(String((await route.handle({ headers: { 'x-gitlab-token': 'hook-secret' }, body: JSON.stringify(payload) })).status));
  const own = { ...payload, user: { id: botUser.id, name: 'SRE Bot', username: 'sre-bot' }, object_attributes: { ...payload.object_attributes, id: 99999, author_id: botUser.id, note: 'echo?' } };
  await route.handle({ headers: { 'x-gitlab-token': 'hook-secret' }, body: JSON.stringify(own) });
  expect(received).toEqual(['200', '200']);
  expect(b.replies().map((r) => r.content)).toEqual([expect.stringMatching(/^💬 \*\*Bob Jones\*\* \(bob\) on GitLab, \[#1 note\].*\n> from the hook$/)]);
  // The poll finds the same note: not posted again.
  await b.advance('61s');
  expect(b.replies().filter((r) => r.content.startsWith('💬'))).toHaveLength(0);
});
