/** Errors of the Zabbix adapter, in a module of their own so that naming them does not load axios. */
export class ZabbixError extends Error {
  constructor(
    readonly method: string,
    message: string,
    /** JSON-RPC error code, when Zabbix answered with one. */
    readonly code?: number,
    readonly transient = false,
  ) {
    super(`Zabbix ${method}: ${message}`);
    this.name = 'ZabbixError';
  }
}
