/** Commands are declared once here (name, usage, summary, handler); help and "did you mean" read them. */
import { editDistance, outside } from '../core/text';
import type { IncidentChange, TopicRef } from '../domain/incident';
import type { StreamMessage } from '../zulip/api';
import { UserFacingError } from './errors';

/** What every message the bot reads carries, in a stream or direct. */
export type IncomingMessage = Pick<StreamMessage, 'id' | 'senderId' | 'senderEmail' | 'senderName' | 'content' | 'timestamp'>;

/**
 * Where a command runs: `topic` (in an SRE stream's topic: it acts on that topic's incidents),
 * `stream` (in any SRE stream), `anywhere` (also in a direct message to the bot: read-only).
 */
export type Where = 'topic' | 'stream' | 'anywhere';

export interface CommandContext {
  message: IncomingMessage;
  /** The stream and topic the command was typed in; absent in a direct message. */
  topic?: TopicRef;
  /** The text after the command name, trimmed. */
  args: string;
  /** Milliseconds since the epoch. */
  now: number;
  /** Answers where the command was typed (held until the command is done, then committed with the bot's position). */
  reply(content: string): void;
  /** Queues outside work (Zabbix, history reads) to run after the commit, durably, retried. */
  enqueue(kind: string, payload: unknown): void;
  /** Tells every module what the command changed (e.g. incidents acknowledged). */
  emit(change: IncidentChange): void;
}

export interface Command {
  name: string;
  /** e.g. "!ack [note]" */
  usage: string;
  summary: string;
  /** What `!help <name>` shows as examples. */
  examples?: readonly string[];
  /** Where it runs (default `stream`); `args` can narrow it (e.g. `!fr` without arguments runs anywhere). */
  where?: Where | ((args: string) => Where);
  /** Precondition names checked by the dispatcher before `run` (e.g. `zabbix`, `fr-group`). */
  requires?: readonly string[];
  run(ctx: CommandContext): void | Promise<void>;
}

/** Checks one precondition for a command: undefined when met, else the error the person reads. */
export type Precondition = (ctx: CommandContext) => Promise<UserFacingError | undefined> | UserFacingError | undefined;

export function whereOf(c: Command, args: string): Where {
  return typeof c.where === 'function' ? c.where(args) : (c.where ?? 'stream');
}

/** The topic a `topic`/`stream` command was typed in (the dispatcher never runs them elsewhere). */
export function here(ctx: CommandContext): TopicRef {
  if (!ctx.topic) throw new UserFacingError('wrong-place', 'Type this in an SRE stream, in the incident\'s topic.');
  return ctx.topic;
}

/** `!name rest` → { name, args }; undefined when the message is no command. */
export function parseCommand(content: string): { name: string; args: string } | undefined {
  const m = /^\s*!([a-z][a-z0-9_-]{0,31})(?=\s|$)([\s\S]*)$/i.exec(content.slice(0, 10_000));
  if (!m) return undefined;
  return { name: (m[1] as string).toLowerCase(), args: (m[2] as string).trim() };
}

/**
 * How people address the bot: `!name args`; `?name args` (the old Mattermost integration's habit:
 * `?ongoing`); a message that starts with a mention of the bot (`@**SRE Bot** ongoing`, with or
 * without `!`; the mention alone asks for help); in a direct message also the bare `name args`.
 * `explicit` is false for `?` and bare words: those are commands only when the name is known
 * (the dispatcher stays silent otherwise: `?` and words start ordinary sentences too).
 */
export function addressedCommand(content: string, opts: { selfName?: string; direct?: boolean } = {}): { name: string; args: string; explicit: boolean } | undefined {
  const text = content.slice(0, 10_000);
  const bang = parseCommand(text);
  if (bang) return { ...bang, explicit: true };
  const q = /^\s*\?([a-z][a-z0-9_-]{0,31})(?=\s|$)([\s\S]*)$/i.exec(text);
  if (q) return { name: (q[1] as string).toLowerCase(), args: (q[2] as string).trim(), explicit: false };
  if (opts.selfName) {
    const mention = /^\s*@_?\*\*([^*|]+)(?:\|\d+)?\*\*[\s:,]*([\s\S]*)$/.exec(text);
    if (mention && (mention[1] as string).trim().toLowerCase() === opts.selfName.toLowerCase()) {
      const rest = (mention[2] as string).trim().replace(/^[!?]/, '');
      const w = /^([a-z][a-z0-9_-]{0,31})(?=\s|$)([\s\S]*)$/i.exec(rest);
      if (!w) return rest === '' ? { name: 'help', args: '', explicit: true } : undefined;
      return { name: (w[1] as string).toLowerCase(), args: (w[2] as string).trim(), explicit: true };
    }
  }
  if (opts.direct) {
    const w = /^\s*([a-z][a-z0-9_-]{0,31})(?=\s|$)([\s\S]*)$/i.exec(text);
    if (w) return { name: (w[1] as string).toLowerCase(), args: (w[2] as string).trim(), explicit: false };
  }
  return undefined;
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

  /** `!help <name>`: the command's usage, what it does, examples and where it runs. */
  helpFor(name: string): string | undefined {
    const c = this.get(name.replace(/^[!?]/, '').toLowerCase());
    if (!c) return undefined;
    const where = whereOf(c, '');
    const runs =
      where === 'anywhere'
        ? 'in any SRE stream, or in a direct message to the bot'
        : where === 'topic'
          ? "in an SRE stream, in the incident's topic"
          : 'in any SRE stream';
    const lines = [`**\`${c.usage}\`** — ${c.summary}`, `Runs ${runs}${c.requires?.length ? ` (needs: ${c.requires.join(', ')})` : ''}. Also \`?${c.name}\`, or \`@**bot** ${c.name}\`.`];
    if (c.examples?.length) lines.push(`Examples: ${c.examples.map((e) => `\`${e}\``).join(', ')}`);
    return lines.join('\n');
  }

  unknownText(name: string): string {
    const s = this.suggest(name);
    const hint = s.length > 0 ? ` Did you mean ${s.map((x) => `\`!${x}\``).join(' or ')}?` : '';
    return `Unknown command \`!${outside(name, { max: 32, literal: true })}\`.${hint} Type \`!help\` for the list.`;
  }
}
