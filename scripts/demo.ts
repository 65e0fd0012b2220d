/**
 * `npm run demo`: the bot working with nothing else installed. Starts the project's local
 * Zulip-compatible server (the fake the integration tests use), the real bot as a child process,
 * and a scripted scenario — a critical alert with reminders, a non-critical repeat getting 🔁,
 * !ongoing, !ack, !handover (requested, then confirmed), recovery — printing the conversation as it happens.
 * `npm run demo -- --keep` leaves server and bot running and prints how to post to it.
 */
import { FakeZulip, type FakeMessage } from '../test/support/fake-zulip';
import { BotProcess, setUpWorld, stopWorld, STREAMS } from '../test/support/bot-process';
import { alertPost } from '../test/support/factories';

const keep = process.argv.includes('--keep');
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const fake = await FakeZulip.start({ heartbeatMs: 5_000 });
  const w = setUpWorld(fake, {
    log: { level: 'info' },
    timezone: 'UTC',
    sla: { critical: { remindEvery: '4s', resolveWithin: '16h' } },
    ...(keep ? { http: { port: 0 } } : {}),
  });
  process.stdout.write(`local Zulip-compatible server on ${fake.url}; starting the bot…\n`);
  const bot = BotProcess.start(w.configPath);
  await bot.live(20_000);
  const started = Date.now();
  const seenReactions = new Map<number, number>();
  let shown = 0;
  const show = (m: FakeMessage) => {
    const t = ((Date.now() - started) / 1000).toFixed(1).padStart(5);
    const body = m.content.split('\n').map((l) => `        ${l}`).join('\n');
    process.stdout.write(`\n[+${t}s] ${m.display_recipient} > ${m.subject} — ${m.sender_full_name}:\n${body}\n`);
  };
  const flush = () => {
    const all = fake.messages();
    for (; shown < all.length; shown++) show(all[shown] as FakeMessage);
    for (const m of all) {
      if (m.reactions.length > (seenReactions.get(m.id) ?? 0)) {
        for (const r of m.reactions.slice(seenReactions.get(m.id) ?? 0)) process.stdout.write(`\n        ↳ :${r.emoji_name}: added under ${m.sender_full_name}'s post in ${m.display_recipient} > ${m.subject}\n`);
        seenReactions.set(m.id, m.reactions.length);
      }
    }
  };
  const printer = setInterval(flush, 50);
  const zabbix = (stream: string, a: Parameters<typeof alertPost>[0]) => fake.post(w.zabbix.email, stream, a.host, alertPost(a), { client: 'ZulipZabbixWebhook' });
  const say = (who: string, stream: string, topic: string, text: string) => fake.post(who, stream, topic, text);
  const web = 'web-01.example.org';
  const db = 'db-02.example.org';

  say(w.ann.email, STREAMS.general, 'first responder', '!fr @**Ann Smith**');
  await pause(600);
  zabbix(STREAMS.critical, { host: web, eventId: '7001', severity: 'High', trigger: `HTTPS is down on ${web}`, item: 'HTTPS status is Down (0)' });
  await pause(800);
  zabbix(STREAMS.nonCritical, { host: db, eventId: '7002', triggerId: '300', severity: 'Warning', trigger: 'Free disk space is less than 20% on /var', item: 'Free disk space on /var is 17 %' });
  await pause(1200);
  say(w.bob.email, STREAMS.nonCritical, db, 'Milestone exists already: tracked in Lynx as SRE2611DBE');
  await pause(600);
  zabbix(STREAMS.nonCritical, { host: db, eventId: '7003', triggerId: '300', severity: 'Warning', trigger: 'Free disk space is less than 20% on /var', item: 'Free disk space on /var is 16 %' });
  await pause(3000);
  say(w.ann.email, STREAMS.general, 'bot', '!ongoing');
  await pause(1500);
  say(w.bob.email, STREAMS.general, 'first responder', '!handover @**Bob Jones**');
  await pause(1000);
  say(w.ann.email, STREAMS.critical, web, '!ack looking at the load balancer');
  await pause(600);
  say(w.bob.email, STREAMS.nonCritical, db, '!ack cleaning up old logs');
  await pause(800);
  say(w.bob.email, STREAMS.general, 'first responder', '!handover @**Bob Jones**');
  await pause(1000);
  // Two-party handover: the acting FR confirms, naming the incident she hands over.
  say(w.ann.email, STREAMS.general, 'first responder', `!handover confirm ${web}`);
  await pause(1500);
  zabbix(STREAMS.critical, { status: 'OK', host: web, eventId: '7001', severity: 'High', trigger: `HTTPS is down on ${web}`, item: 'HTTPS status is Up (1)' });
  await pause(800);
  say(w.ann.email, STREAMS.general, 'bot', '!ongoing');
  await pause(1500);
  clearInterval(printer);
  flush();
  if (keep) {
    process.stdout.write(
      `\nServer and bot keep running (Ctrl-C to stop). Post as Ann with curl:\n` +
        `  curl -u '${w.ann.email}:${w.ann.apiKey}' -d type=stream -d 'to=${STREAMS.general}' -d topic=bot -d 'content=!ongoing' ${fake.url}/api/v1/messages\n` +
        `Read the conversation:\n  curl -u '${w.ann.email}:${w.ann.apiKey}' '${fake.url}/api/v1/messages?anchor=newest&num_before=20&num_after=0&apply_markdown=false'\n`,
    );
    const again = setInterval(flush, 200);
    const stop = async () => {
      clearInterval(again);
      await bot.kill('SIGTERM');
      await stopWorld({ fake }); // the fake, and the demo's temp dir
      process.exit(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    return;
  }
  const code = await bot.kill('SIGTERM');
  await stopWorld({ fake }); // the fake, and the demo's temp dir
  process.stdout.write(`\ndemo finished in ${((Date.now() - started) / 1000).toFixed(1)}s; the bot exited with code ${code}\n`);
  if (code !== 0) process.exit(1);
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
