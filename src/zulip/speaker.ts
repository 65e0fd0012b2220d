/** What the bot says goes through the durable outbox; this is the handlers' way to say it. */
import type { Clock } from '../core/clock';
import { splitMessage } from '../core/text';
import type { CardStore, Lane, Outbox } from '../store/store';

export interface Speaker {
  /** Posts in a stream's topic (lane: `notice` unless said); long text is split into several messages. */
  say(stream: string, topic: string, content: string, lane?: Lane): void;
  react(messageId: number, emojiName: string): void;
  /** A direct message to people (by email); long text is split. */
  tell(toEmails: readonly string[], content: string, lane?: Lane): void;
  /**
   * A message the bot keeps up to date under `key`: posted the first time, edited in place after
   * (a fresh one is posted when Zulip no longer lets it be edited). Only the newest update of a
   * key waits in the outbox. Content over Zulip's limit is cut.
   */
  card(key: string, stream: string, topic: string, content: string, lane?: Lane): void;
}

export class OutboxSpeaker implements Speaker {
  constructor(
    private readonly outbox: Outbox & Pick<CardStore, 'dropQueuedCard'>,
    private readonly clock: Clock,
    /** Called after something was queued (wakes the sender). */
    private readonly onQueued: () => void = () => {},
  ) {}

  say(stream: string, topic: string, content: string, lane: Lane = 'notice'): void {
    for (const part of splitMessage(content)) this.outbox.enqueue({ kind: 'message', stream, topic, content: part }, this.clock.now(), lane);
    this.onQueued();
  }

  tell(toEmails: readonly string[], content: string, lane: Lane = 'reply'): void {
    for (const part of splitMessage(content)) this.outbox.enqueue({ kind: 'direct', to: [...toEmails], content: part }, this.clock.now(), lane);
    this.onQueued();
  }

  card(key: string, stream: string, topic: string, content: string, lane: Lane = 'notice'): void {
    this.outbox.dropQueuedCard(key);
    const [first] = splitMessage(content);
    this.outbox.enqueue({ kind: 'card', key, stream, topic, content: first ?? '' }, this.clock.now(), lane);
    this.onQueued();
  }

  react(messageId: number, emojiName: string): void {
    // A reaction is a confirmation where the person looks: it goes with the replies.
    this.outbox.enqueue({ kind: 'reaction', messageId, emojiName }, this.clock.now(), 'reply');
    this.onQueued();
  }
}
