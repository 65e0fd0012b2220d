/** Commands are declared once here (name, usage, summary, handler); help and "did you mean" read them. */
import { editDistance } from '../core/text';
import type { StreamMessage } from '../zulip/api';

export interface CommandContext {
  message: StreamMessage;
  /** The text after the command name, trimmed. */
  args: string;
  /** Milliseconds since the epoch. */
  now: number;
  /** Answers in the stream and topic the command was typed in. */
  reply(content: string): void;
}

export interface Command {
  name: string;
  /** e.g. "!ack [note]" */
  usage: string;
  summary: string;
  /** Read-only commands are also answered in direct messages; `args` can narrow it (e.g. `!fr` without arguments). */
  readOnly?: boolean | ((args: string) => boolean);
  run(ctx: CommandContext): void | Promise<void>;
}

/** A command was used wrongly: the usage line is the answer. */
export class UsageError extends Error {
  constructor(readonly detail: string) {
    super(detail);
    this.name = 'UsageError';
  }
}

/** `!name rest` → { name, args }; undefined when the message is no command. */
export function parseCommand(content: string): { name: string; args: string } | undefined {
  const m = /^\s*!([a-z][a-z0-9_-]{0,31})(?=\s|$)([\s\S]*)$/i.exec(content.slice(0, 10_000));
  if (!m) return undefined;
  return { name: (m[1] as string).toLowerCase(), args: (m[2] as string).trim() };
}

export class CommandRegistry {
  private readonly commands = new Map<string, Command>();

  add(...commands: Command[]): this {
    for (const c of commands) {
      if (this.commands.has(c.name)) throw new Error(`command !${c.name} declared twice`);
      this.commands.set(c.name, c);
    }
    return this;
  }

  get(name: string): Command | undefined {
    return this.commands.get(name);
  }

  all(): Command[] {
    return [...this.commands.values()];
  }

  /** The closest command names to an unknown one (edit distance ≤ 2, or a shared prefix). */
  suggest(name: string): string[] {
    return this.all()
      .map((c) => ({ c: c.name, d: c.name.startsWith(name) || name.startsWith(c.name) ? 1 : editDistance(name, c.name) }))
      .filter((x) => x.d <= 2)
      .sort((a, b) => a.d - b.d || a.c.localeCompare(b.c))
      .slice(0, 3)
      .map((x) => x.c);
  }

  helpText(): string {
    const rows = this.all().map((c) => `| \`${c.usage}\` | ${c.summary} |`);
    return ['**Commands** (type them in any SRE stream; answers come in the same topic)', '', '| Command | What it does |', '|---|---|', ...rows].join('\n');
  }

  unknownText(name: string): string {
    const s = this.suggest(name);
    const hint = s.length > 0 ? ` Did you mean ${s.map((x) => `\`!${x}\``).join(' or ')}?` : '';
    return `Unknown command \`!${name.slice(0, 32)}\`.${hint} Type \`!help\` for the list.`;
  }
}
