/**
 * `npm run demo`: the bot working with nothing else installed. Starts the project's local
 * Zulip-compatible server (the same fake the integration tests use), the real bot as a child
 * process, and a scripted scenario, printing the conversation as it happens.
 * `npm run demo -- --keep` leaves server and bot running and prints how to post to it.
 */
import { FakeZulip, type FakeMessage } from '../test/support/fake-zulip';
import { BotProcess, setUpWorld, STREAMS } from '../test/support/bot-process';
import { alertPost } from '../test/support/factories';

const keep = process.argv.includes('--keep');
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

function show(m: FakeMessage): void {
  const reactions = m.reactions.length ? `  [reactions: ${m.reactions.map((r) => `:${r.emoji_name}:`).join(' ')}]` : '';
  const body = m.content.split('\n').map((l) => `    ${l}`).join('\n');
  process.stdout.write(`\n${m.display_recipient} > ${m.subject}  —  ${m.sender_full_name}${reactions}\n${body}\n`);
}

async function main(): Promise<void> {
  const fake = await FakeZulip.start({ heartbeatMs: 5_000 });
  const w = setUpWorld(fake, {
    log: { level: 'info' },
    sla: { critical: { remindEvery: '4s', resolveWithin: '16h' } },
    ...(keep ? { http: { port: 0 } } : {}),
  });
  process.stdout.write(`local Zulip-compatible server on ${fake.url}; starting the bot…\n`);
  const bot = BotProcess.start(w.configPath);
  await bot.live(20_000);
  let shown = 0;
  const printer = setInterval(() => {
    const all = fake.messages();
    for (; shown < all.length; shown++) show(all[shown] as FakeMessage);
  }, 50);
  const zabbix = (stream: string, a: Parameters<typeof alertPost>[0]) => fake.post(w.zabbix.email, stream, a.host, alertPost(a), { client: 'ZulipZabbixWebhook' });
  const say = (stream: string, topic: string, text: string) => fake.post(w.ann.email, stream, topic, text);

  zabbix(STREAMS.critical, { host: 'web-01.example.org', eventId: '7001', severity: 'High', trigger: 'HTTPS is down on web-01.example.org', item: 'HTTPS status is Down (0)' });
  await pause(800);
  zabbix(STREAMS.nonCritical, { host: 'db-02.example.org', eventId: '7002', severity: 'Warning', trigger: 'Free disk space is less than 20% on /var', item: 'Free disk space on /var is 17 %' });
  await pause(800);
  say(STREAMS.general, 'bot', '!ongoing');
  await pause(1500);
  say(STREAMS.critical, 'web-01.example.org', '!ongoin');
  await pause(1000);
  zabbix(STREAMS.critical, { status: 'OK', host: 'web-01.example.org', eventId: '7001', severity: 'High', trigger: 'HTTPS is down on web-01.example.org', item: 'HTTPS status is Up (1)' });
  await pause(800);
  say(STREAMS.general, 'bot', '!ongoing');
  await pause(1500);
  clearInterval(printer);
  const all = fake.messages();
  for (; shown < all.length; shown++) show(all[shown] as FakeMessage);
  if (keep) {
    process.stdout.write(
      `\nServer and bot keep running (Ctrl-C to stop). Post as Ann with curl:\n` +
        `  curl -u '${w.ann.email}:${w.ann.apiKey}' -d type=stream -d 'to=${STREAMS.general}' -d topic=bot -d 'content=!ongoing' ${fake.url}/api/v1/messages\n` +
        `Read the conversation:\n  curl -u '${w.ann.email}:${w.ann.apiKey}' '${fake.url}/api/v1/messages?anchor=newest&num_before=20&num_after=0&apply_markdown=false'\n`,
    );
    const stop = async () => {
      await bot.kill('SIGTERM');
      await fake.stop();
      process.exit(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    return;
  }
  const code = await bot.kill('SIGTERM');
  await fake.stop();
  process.stdout.write(`\ndemo finished; the bot exited with code ${code}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
