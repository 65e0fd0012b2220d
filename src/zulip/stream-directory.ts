/** Stream ids to names, learned from messages and asked of Zulip when unknown. */
import type { ZulipApi } from './api';

export class StreamDirectory {
  private readonly names = new Map<number, string>();

  constructor(private readonly api: Pick<ZulipApi, 'streams'>) {}

  learn(id: number, name: string): void {
    if (id > 0) this.names.set(id, name);
  }

  async name(id: number): Promise<string | undefined> {
    const known = this.names.get(id);
    if (known !== undefined) return known;
    for (const s of await this.api.streams()) this.names.set(s.id, s.name);
    return this.names.get(id);
  }
}
