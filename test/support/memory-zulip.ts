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
  async streams(): Promise<{ id: number; name: string }[]> {
    return [];
  }
}
