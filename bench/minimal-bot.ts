/**
 * The transport floor for the latency figure: a few lines of zulip-js that react 🔁 to every
 * message, with no parsing, storage, outbox or rate limiting. Usage: node minimal-bot.js SITE EMAIL KEY
 * (It long-polls in a tight loop: zulip-js's own callOnEachEvent sleeps 1 s after every poll.)
 */
import zulipInit = require('zulip-js');

async function main(): Promise<void> {
  const [realm, username, apiKey] = process.argv.slice(2);
  const client = await zulipInit({ realm, username, apiKey });
  const queue = await client.queues.register({ event_types: ['message'] });
  let last = Number(queue.last_event_id);
  process.stdout.write(`${JSON.stringify({ msg: 'ready' })}\n`);
  for (;;) {
    const res = await client.events.retrieve({ queue_id: String(queue.queue_id), last_event_id: last });
    for (const e of (res.events ?? []) as { id: number; type: string; message?: { id: number } }[]) {
      last = Math.max(last, e.id);
      if (e.type === 'message' && e.message) void client.reactions.add({ message_id: e.message.id, emoji_name: 'repeat' });
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`minimal bot: ${String(err)}\n`);
  process.exit(1);
});
