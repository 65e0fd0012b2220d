// zulip-js ships no types; this declares the part the adapter uses.
declare module 'zulip-js' {
  type Params = Record<string, string | number | string[] | undefined>;
  type Json = Record<string, unknown>;
  interface ZulipClient {
    queues: { register(p: Params): Promise<Json>; deregister(p: Params): Promise<Json> };
    events: { retrieve(p: Params): Promise<Json> };
    messages: { send(p: Params): Promise<Json>; retrieve(p: Params): Promise<Json> };
    reactions: { add(p: Params): Promise<Json>; remove(p: Params): Promise<Json> };
    users: { me: { getProfile(): Promise<Json> } };
    streams: { retrieve(p?: Params): Promise<Json> };
    callEndpoint(path: string, method?: 'GET' | 'POST' | 'PATCH' | 'DELETE', params?: Params): Promise<Json>;
  }
  interface ZulipInitConfig {
    username?: string;
    apiKey?: string;
    realm?: string;
    zuliprc?: string;
  }
  function zulipInit(config: ZulipInitConfig): Promise<ZulipClient>;
  export = zulipInit;
}
