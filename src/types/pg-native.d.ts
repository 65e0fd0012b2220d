// pg-native ships no types; this declares the synchronous part src/store/postgres-store.ts uses.
declare module 'pg-native' {
  interface TypeParsers {
    getTypeParser(oid: number, format?: string): (value: string) => unknown;
  }
  interface Libpq {
    cmdTuples(): string;
    resultErrorFields(): Record<string, string | undefined>;
    transactionStatus(): number;
    finish(): void;
  }
  class Client {
    constructor(config?: { types?: TypeParsers; arrayMode?: boolean });
    readonly pq: Libpq;
    connectSync(params?: string): void;
    querySync(text: string, values?: unknown[]): Record<string, unknown>[];
    prepareSync(statementName: string, text: string, nParams: number): void;
    executeSync(statementName: string, parameters: unknown[]): Record<string, unknown>[];
  }
  export = Client;
}
