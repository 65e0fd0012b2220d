/** An in-memory ZulipApi for in-process tests of the whole app (no HTTP). */
import type { Narrow, QueueRegistration, StreamMessage, ZulipApi, ZulipEvent, ZulipUser } from '../../src/zulip/api';

export class MemoryZulip implements ZulipApi {
  readonly sent: { stream: string; topic: string; content: string }[] = [];
  readonly reactions: { messageId: number; emojiName: string }[] = [];
  users_: ZulipUser[] = [
    { id: 1, email: 'sre-bot@example.org', fullName: 'SRE Bot', isBot: true },
    { id: 2, email: 'ann@example.org', fullName: 'Ann Smith', isBot: false },
    { id: 3, email: 'bob@example.org', fullName: 'Bob Jones', isBot: false },
  ];

  async register(): Promise<QueueRegistration> {
    return { queueId: 'q', lastEventId: -1, maxMessageId: 0, longpollTimeoutSeconds: 90 };
  }
  async getEvents(): Promise<ZulipEvent[]> {
    return new Promise(() => {});
  }
  async getMessagesAfter(_after: number, _n: Narrow, _limit: number): Promise<{ messages: StreamMessage[]; foundNewest: boolean }> {
    return { messages: [], foundNewest: true };
  }
  async latestMessages(): Promise<StreamMessage[]> {
    return [];
  }
  async sendStreamMessage(stream: string, topic: string, content: string): Promise<number> {
    this.sent.push({ stream, topic, content });
    return this.sent.length;
  }
  async addReaction(messageId: number, emojiName: string): Promise<void> {
    this.reactions.push({ messageId, emojiName });
  }
  readonly direct: { to: readonly string[]; content: string }[] = [];
  groups: Record<string, number[]> = {};
  async sendDirectMessage(to: readonly string[], content: string): Promise<number> {
    this.direct.push({ to, content });
    return this.direct.length;
  }
  async groupMembers(name: string): Promise<number[] | undefined> {
    return this.groups[name];
  }
  async me(): Promise<ZulipUser> {
    return this.users_[0] as ZulipUser;
  }
  async user(id: number): Promise<ZulipUser> {
    const u = this.users_.find((x) => x.id === id);
    if (!u) throw new Error(`no user ${id}`);
    return u;
  }
  async users(): Promise<ZulipUser[]> {
    return this.users_;
  }
  async isSubscribed(): Promise<boolean> {
    return true;
  }
  /** The realm's streams (the harness fills it with the configured SRE streams). */
  streams_: { id: number; name: string }[] = [];
  async streams(): Promise<{ id: number; name: string }[]> {
    return this.streams_.map((s) => ({ ...s }));
  }
  /** Messages the tests put in Zulip's history (for history reads: reconcile, import, postmortem). */
  history: StreamMessage[] = [];
  readonly renamed: { messageId: number; topic: string }[] = [];
  readonly edited: { messageId: number; content: string }[] = [];
  async editMessage(messageId: number, content: string): Promise<void> {
    this.edited.push({ messageId, content });
  }
  async getMessagesBefore(beforeId: number | undefined, narrow: Narrow, limit: number): Promise<{ messages: StreamMessage[]; foundOldest: boolean }> {
    const all = this.history.filter((m) => (beforeId === undefined || m.id < beforeId) && (narrow.stream === undefined || m.stream === narrow.stream) && (narrow.topic === undefined || m.topic === narrow.topic)).sort((a, b) => a.id - b.id);
    return { messages: all.slice(-limit), foundOldest: all.length <= limit };
  }
  /**
   * Messages posted while the test ran (the harness adds alerts, people's messages and the bot's),
   * where they are now: getMessage finds them after `history`.
   */
  inZulip: StreamMessage[] = [];
  async getMessage(id: number): Promise<StreamMessage | undefined> {
    const m = this.history.find((x) => x.id === id) ?? this.inZulip.find((x) => x.id === id);
    return m && { ...m };
  }
  async renameTopic(messageId: number, topic: string): Promise<void> {
    this.renamed.push({ messageId, topic });
  }
}
