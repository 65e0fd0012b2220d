/**
 * GitLab tracking at process level: the built bot (`dist/src/main.js`) against the fake Zulip and
 * the fake GitLab (test/support/fake-gitlab.ts, written from GitLab's REST API reference: no
 * GitLab server can run here), through the real zulip-js and @gitbeaker/rest.
 */
import type { FakeMessage, FakeZulip } from '../support/fake-zulip';
import { BotProcess, startWorld, stopWorld, STREAMS, type World } from '../support/bot-process';
import { FakeGitlab, type FakeGitlabIssue, type FakeGitlabProject, type FakeGitlabUser } from '../support/fake-gitlab';
import { alertPost } from '../support/factories';

jest.setTimeout(90_000);

const HOST = 'web-01.example.org';
const WEBHOOK_SECRET = 'hook-secret-21';

let fake: FakeZulip;
let w: World;
let bot: BotProcess | undefined;
let gitlab: FakeGitlab;
let glBot: FakeGitlabUser;
let project: FakeGitlabProject;

async function start(gitlabConfig: Record<string, unknown> = {}): Promise<BotProcess> {
  gitlab = await FakeGitlab.start();
  glBot = gitlab.addUser({ username: 'sre-bot', name: 'SRE Bot' });
  gitlab.addUser({ username: 'bob', name: 'Bob Jones' });
  project = gitlab.addProject('sre/incidents');
  ({ fake, w } = await startWorld(
    { gitlab: { url: gitlab.url, project: 'sre/incidents', labels: ['incident', 'sre'], syncEvery: '1s', webhookToken: WEBHOOK_SECRET, ...gitlabConfig }, http: { port: 0 } },
    { startBot: false },
  ));
  // The token comes from the environment (GITLAB_TOKEN overrides the file).
  const b = BotProcess.start(w.configPath, { GITLAB_TOKEN: glBot.token });
  bot = b;
  await b.live();
  const port = Number((await b.waitForLog((l) => typeof l.port === 'number')).port);
  gitlab.webhook({ url: `http://127.0.0.1:${port}/gitlab/webhook`, token: WEBHOOK_SECRET });
  return b;
}

afterEach(async () => {
  await stopWorld({ fake, bot });
  bot = undefined;
  await gitlab?.stop();
});

function alert(a: { eventId: string; status?: 'PROBLEM' | 'OK'; trigger?: string }): FakeMessage {
  return fake.post(w.zabbix.email, STREAMS.critical, HOST, alertPost({ host: HOST, trigger: `HTTPS is down on ${HOST}`, ...a }), { client: 'ZulipZabbixWebhook' });
}

async function until(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`not seen in ${timeoutMs} ms: ${what}\nbot log tail:\n${bot?.output.slice(-12).join('\n') ?? ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const issues = (): FakeGitlabIssue[] => gitlab.issuesOf(project.id);
const userNotes = (iid = 1) => (gitlab.issue(project.id, iid)?.notes ?? []).filter((n) => !n.system);
const botPosts = (topic = HOST) => fake.messagesIn(STREAMS.critical).filter((m) => m.sender_email === w.bot.email && m.subject.replace(/^✔ /, '') === topic);

/** The topic as people read it, one line per message. */
function transcript(topic = HOST): string {
  return fake
    .messagesIn(STREAMS.critical)
    .filter((m) => m.subject.replace(/^✔ /, '') === topic)
    .map((m) => `${m.sender_full_name}: ${m.content.replace(/\n/g, '\n    ')}`)
    .join('\n');
}

test('an alert opens one issue (title, body, labels, due date), ✔️ on the post, the link said; a repeat opens none', async () => {
  await start();
  const post = alert({ eventId: '7001' });
  await until(() => issues().length === 1 && botPosts().some((m) => m.content.startsWith('📋 GitLab issue')), 'the issue and its link');
  const issue = issues()[0] as FakeGitlabIssue;
  expect(issue.title).toBe(`HTTPS is down on ${HOST}`);
  expect(issue.labels).toEqual(['incident', 'sre']);
  expect(issue.dueDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  expect(issue.authorId).toBe(glBot.id);
  const streamId = fake.messagesIn(STREAMS.critical)[0]?.stream_id;
  expect(issue.description).toContain(`- **Zulip topic:** [SRE # Critical > ${HOST}](${fake.url}/#narrow/channel/${streamId}-SRE-.23-Critical/topic/web-01.2Eexample.2Eorg)`);
  expect(issue.description).toContain('- **Zabbix:** [event 7001](https://zabbix.example.org/tr_events.php?triggerid=100&eventid=7001)');
  expect(issue.description).toMatch(/- \*\*SLA deadline:\*\* resolve by \d{4}-\d{2}-\d{2} \d{2}:\d{2} CES?T/);
  await until(() => fake.messages().find((m) => m.id === post.id)?.reactions.some((r) => r.emoji_name === 'check_mark') === true, '✔️ on the alert post');
  expect(botPosts().filter((m) => m.content.startsWith('📋 GitLab issue'))).toHaveLength(1);

  alert({ eventId: '7001' });
  const again = alert({ eventId: '7002' });
  await bot?.waitForLog((l) => l.messageId === again.id);
  await until(() => userNotes().some((n) => n.body.includes('event 7002')), 'the repeat noted on the issue');
  expect(issues()).toHaveLength(1);
});

test('both ways, no echo: a topic message becomes a note; a GitLab note is posted once (poll and webhook); the bot\'s own notes and posts are not mirrored', async () => {
  await start();
  alert({ eventId: '7001' });
  await until(() => issues().length === 1 && botPosts().length > 0, 'the issue');
  const said = fake.post(w.ann.email, STREAMS.critical, HOST, 'The load balancer marks the backend down; restarting nginx.');
  fake.post(w.ann.email, STREAMS.critical, HOST, '!ack on it');
  await until(() => userNotes().length === 1, 'the note');
  expect(userNotes()[0]?.body).toBe(`**Ann Smith** wrote in Zulip ([message](${fake.url}/#narrow/channel/${said.stream_id}-SRE-.23-Critical/topic/web-01.2Eexample.2Eorg/near/${said.id})):\n\n> The load balancer marks the backend down; restarting nginx.`);
  expect(userNotes()[0]?.authorId).toBe(glBot.id);

  gitlab.addNote(project.id, 1, 'bob', 'Certificate renewed on the LB as well.');
  await until(() => botPosts().some((m) => m.content.startsWith('💬 **Bob Jones**')), 'the GitLab note in the topic');
  // Several sync rounds (1 s) and the webhook later: still once; the bot's note never comes back.
  await new Promise((r) => setTimeout(r, 3_000));
  await gitlab.settled();
  const mirrored = botPosts().filter((m) => m.content.startsWith('💬'));
  expect(mirrored.map((m) => m.content)).toEqual([expect.stringMatching(/^💬 \*\*Bob Jones\*\* \(bob\) on GitLab, \[#1 note\]\(http:\/\/127\.0\.0\.1:\d+\/sre\/incidents\/-\/issues\/1#note_\d+\):\n> Certificate renewed on the LB as well\.$/)]);
  // Nothing the bot said in the topic became a note: exactly Ann's message.
  expect(userNotes().map((n) => n.authorId === glBot.id && n.body.startsWith('**Ann Smith**'))).toEqual([true, false]);
  expect(gitlab.deliveries.some((d) => d.event === 'Note Hook' && d.status === 200)).toBe(true);
});

test('resolve closes the issue with a note; Zabbix posting the problem again reopens it', async () => {
  await start();
  alert({ eventId: '7001' });
  await until(() => issues().length === 1, 'the issue');
  fake.post(w.ann.email, STREAMS.critical, HOST, '!resolve certificate renewed');
  await until(() => issues()[0]?.state === 'closed', 'the issue closed');
  expect(userNotes().at(-1)?.body).toBe(`Resolved in Zulip by Ann Smith (resolved by hand in Zulip): HTTPS is down on ${HOST} (event 7001). Closing this issue.`);
  alert({ eventId: '7001' });
  await until(() => issues()[0]?.state === 'opened', 'the issue reopened');
  expect(userNotes().at(-1)?.body).toBe('Open again (Zabbix posted the problem again, Zabbix): reopening this issue.');
  expect(issues()).toHaveLength(1);
});

test('GitLab down for a while: chat goes on, one outage notice, nothing lost, everything synced after recovery', async () => {
  const b = await start();
  gitlab.down = true;
  const post = alert({ eventId: '7001' });
  const answer = fake.post(w.ann.email, STREAMS.critical, HOST, '!ack looking');
  await fake.waitForMessage((m) => m.sender_email === w.bot.email && m.content.startsWith('✅ Acknowledged'), { afterId: answer.id, timeoutMs: 10_000 });
  fake.post(w.ann.email, STREAMS.critical, HOST, 'first, while GitLab is down');
  fake.post(w.bob.email, STREAMS.critical, HOST, 'second, while GitLab is down');
  const general = () => fake.messagesIn(STREAMS.general).filter((m) => m.sender_email === w.bot.email);
  await until(() => general().length === 1, 'the outage notice');
  await new Promise((r) => setTimeout(r, 4_000));
  expect(general().map((m) => m.content)).toEqual([expect.stringMatching(/^⚠️ GitLab sync is failing \(.*cannot reach GitLab/)]);
  const health = (await (await fetch(`http://127.0.0.1:${Number((await b.waitForLog((l) => typeof l.port === 'number')).port)}/healthz`)).json()) as { ok: boolean; gitlab: { failing: boolean } };
  expect(health).toMatchObject({ ok: true, gitlab: { failing: true } });

  gitlab.down = false;
  await until(() => userNotes().length === 2, 'both notes after recovery', 30_000);
  expect(issues()).toHaveLength(1);
  expect(userNotes().map((n) => n.body.split('\n').at(-1))).toEqual(['> first, while GitLab is down', '> second, while GitLab is down']);
  await until(() => general().length === 2, 'the recovery notice');
  expect(general()[1]?.content).toMatch(/^✅ GitLab answers again/);
  await until(() => fake.messages().find((m) => m.id === post.id)?.reactions.some((r) => r.emoji_name === 'check_mark') === true, '✔️ after recovery');
  // The fake GitLab stores a note before it answers; the bot counts it once the answer is in and
  // recorded: the second note's count may come a moment after the note is seen.
  const port = Number((await b.waitForLog((l) => typeof l.port === 'number')).port);
  const readMetrics = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let metrics = await readMetrics();
  for (const end = Date.now() + 10_000; !/sre_bot_gitlab_synced_total\{what="note-to-gitlab"\} 2/.test(metrics) && Date.now() < end; metrics = await readMetrics()) {
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(metrics).toMatch(/sre_bot_gitlab_failures_total\{reason="network"\} [1-9]/);
  expect(metrics).toMatch(/sre_bot_gitlab_synced_total\{what="note-to-gitlab"\} 2/);
});

test('the issue as created and the topic transcript with synced notes (printed for the record)', async () => {
  await start({ closeResolves: true });
  alert({ eventId: '7001' });
  await until(() => issues().length === 1 && botPosts().some((m) => m.content.startsWith('📋')), 'the issue');
  fake.post(w.ann.email, STREAMS.critical, HOST, '!ack looking at the load balancer');
  fake.post(w.ann.email, STREAMS.critical, HOST, 'Backend marked down; the certificate expired at 09:58.');
  await until(() => userNotes().length === 1, 'the note');
  gitlab.addNote(project.id, 1, 'bob', 'Renewed the certificate from the ACME job; please verify.');
  await until(() => botPosts().some((m) => m.content.startsWith('💬')), 'the GitLab note');
  fake.post(w.ann.email, STREAMS.critical, HOST, 'Verified: HTTPS answers again.');
  await until(() => userNotes().length === 2, 'the second note');
  gitlab.setState(project.id, 1, 'bob', 'close');
  await until(() => botPosts().some((m) => m.content.startsWith('🔒')), 'the close said');
  const issue = issues()[0] as FakeGitlabIssue;
  const record = [
    '=== The issue as created ===',
    `title:    ${issue.title}`,
    `labels:   ${issue.labels.join(', ')}`,
    `due date: ${issue.dueDate ?? '-'}`,
    `state:    ${issue.state}`,
    'body:',
    issue.description.replace(/^/gm, '  '),
    '=== Its notes ===',
    ...issue.notes.map((n) => `[${gitlab.users.find((u) => u.id === n.authorId)?.username}${n.system ? ', system' : ''}] ${n.body.replace(/\n/g, '\n    ')}`),
    `=== Topic ${STREAMS.critical} > ${HOST} ===`,
    transcript(),
  ].join('\n');
  process.stdout.write(`\n${record}\n`);
  expect(transcript()).toContain('🔒 GitLab issue');
  expect(transcript()).toContain('Resolved here: **HTTPS is down on web-01.example.org** (event 7001).');
});
