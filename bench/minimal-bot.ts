/**
 * The transport floor: a few lines of zulip-js with no parsing, storage, outbox or rate limiting.
 * It answers every command (a message starting with `!` or `?`) with a one-line message in its
 * topic and, in `react` mode (the default), reacts 🔁 to every other message.
 * Usage: node minimal-bot.js SITE EMAIL KEY [react|reply]
 * (It long-polls in a tight loop: zulip-js's own callOnEachEvent sleeps 1 s after every poll.)
 */
import zulipInit = require('zulip-js');

interface MessageEvent {
  id: number;
  type: string;
  message?: { id: number; type?: string; content?: string; sender_email?: string; display_recipient?: unknown; subject?: string };
}

async function main(): Promise<void> {
  const [realm, username, apiKey, mode = 'react'] = process.argv.slice(2);
  const client = await zulipInit({ realm, username, apiKey });
  const queue = await client.queues.register({ event_types: ['message'] });
  let last = Number(queue.last_event_id);
  process.stdout.write(`${JSON.stringify({ msg: 'ready' })}\n`);
  for (;;) {
    const res = await client.events.retrieve({ queue_id: String(queue.queue_id), last_event_id: last });
    for (const e of (res.events ?? []) as MessageEvent[]) {
      last = Math.max(last, e.id);
      const m = e.message;
      if (e.type !== 'message' || !m || m.sender_email === username) continue;
      if (m.type === 'stream' && /^[!?]/.test(m.content ?? '')) {
        void client.messages.send({ type: 'stream', to: String(m.display_recipient), topic: m.subject ?? '', content: 'ok' });
      } else if (mode === 'react') {
        void client.reactions.add({ message_id: m.id, emoji_name: 'repeat' });
      }
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`minimal bot: ${String(err)}\n`);
  process.exit(1);
});
