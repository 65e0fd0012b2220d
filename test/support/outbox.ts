import type { Store } from '../../src/store/store';

/** Takes every queued outgoing message out of the store's outbox (what the bot would have said). */
export function drainMessages(store: Store): { stream: string; topic: string; content: string }[] {
  const out: { stream: string; topic: string; content: string }[] = [];
  for (let row = store.peek(); row; row = store.peek()) {
    if (row.item.kind === 'message') out.push({ stream: row.item.stream, topic: row.item.topic, content: row.item.content });
    store.remove(row.id);
  }
  return out;
}
