/**
 * The one error a command (or a precondition) throws to answer a person: a code for logs and
 * tests, and the text they read. The dispatcher renders it; anything else thrown is an internal
 * error, logged and answered with an apology.
 */
export type UserErrorCode =
  /** The command was used wrongly: the text is followed by the usage line. */
  | 'usage'
  /** A person named in the command does not exist or is ambiguous: followed by the usage line. */
  | 'unknown-person'
  /** Nothing of the kind is tracked here (the usage line follows). */
  | 'not-found'
  /** The person may not do this (a precondition). */
  | 'refused'
  /** The command does not run here (e.g. a state change in a direct message). */
  | 'wrong-place'
  /** Something the command needs is not configured (e.g. Zabbix). */
  | 'unavailable';

const WITH_USAGE: ReadonlySet<UserErrorCode> = new Set(['usage', 'unknown-person', 'not-found']);

export class UserFacingError extends Error {
  constructor(
    readonly code: UserErrorCode,
    readonly text: string,
  ) {
    super(text);
    this.name = 'UserFacingError';
  }

  /** What the person reads: the text, and for usage-like codes the command's usage line. */
  render(usage: string): string {
    return WITH_USAGE.has(this.code) ? `${this.text}\nUsage: \`${usage}\`` : this.text;
  }
}
