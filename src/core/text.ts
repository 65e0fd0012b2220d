/** Text helpers for what the bot writes into Zulip. Pure. */

/** Zulip's limit on a message's length. */
export const ZULIP_MESSAGE_LIMIT = 10_000;

/** Characters never echoed: C0 controls but tab and line feed, DEL, C1 controls, bidi embeddings, overrides and isolates. */
const CONTROL_CHARS = '\\u0000-\\u0008\\u000B-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069';
const CONTROLS = new RegExp(`[${CONTROL_CHARS}]`, 'g');
const HAS_CONTROL = new RegExp(`[${CONTROL_CHARS}]`);

export interface OutsideOptions {
  /** At most this many characters (default 300); longer text is cut and ends in "…". */
  max?: number;
  /** Keep line breaks (default: each run of them becomes one space and the text is trimmed). */
  newlines?: boolean;
  /** For a Markdown table cell: one line, `|` (and `\`) escaped so the row keeps its columns. */
  table?: boolean;
  /** Shown exactly as typed (e.g. a link's label): the Markdown characters `\`, backtick, `*`, `_`, `[`, `]` escaped, which also keeps mentions from forming. */
  literal?: boolean;
}

/**
 * The one way text from outside the bot is written into a message: topic, host and trigger
 * names, people's names, notes and error texts. Control characters (NUL, C0/C1, bidi overrides
 * and isolates) are dropped; mentions are made silent — `@**Name**` → `@_**Name**`, `@*group*` →
 * `@_*group*`, so `@**all**`, `@**everyone**`, `@**stream**`, `@**topic**` never notify; a
 * trailing `@` cannot join the bot's own `**` into a mention; the length is capped.
 */
export function outside(text: string, opts: OutsideOptions = {}): string {
  const max = opts.max ?? 300;
  let s = String(text ?? '')
    .replace(/\r\n?|[\u2028\u2029]/g, '\n')
    .replace(/\t/g, ' ')
    .replace(CONTROLS, '');
  if (!opts.newlines || opts.table) {
    s = s
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '')
      .join(' ');
  }
  if (s.length > max) {
    let cut = Math.max(0, max - 1);
    if (cut > 0 && /[\uD800-\uDBFF]/.test(s.charAt(cut - 1))) cut--;
    s = `${s.slice(0, cut)}…`;
  }
  // Literal text has every `*` escaped, so no mention is left to silence.
  if (opts.literal) return s.replace(opts.table ? /[\\`*_[\]|]/g : /[\\`*_[\]]/g, '\\$&');
  s = s.replace(/@_?(?=\*)/g, '@_').replace(/@$/, '@\u200B');
  return opts.table ? s.replace(/[\\|]/g, '\\$&') : s;
}

/**
 * Makes mentions in text silent, keeping its lines and length.
 * @deprecated write `outside(text, …)`, which also caps the length and drops control characters.
 */
export function neutralizeMentions(text: string): string {
  return outside(text, { newlines: true, max: Number.POSITIVE_INFINITY });
}

/** Zulip's encoding of a narrow URL's parts (`.` for `%`), with the characters Markdown links trip on encoded too. */
function hashComponent(text: string): string {
  return encodeURIComponent(text)
    .replace(/[.!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%/g, '.');
}

/** Whether `#**stream>topic**` links exactly this topic and cannot carry anything else (Zulip's syntax: stream `[^*>]+`, topic `[^*]*`). */
function plainLinkable(stream: string, topic: string, table: boolean): boolean {
  const unsafe = table ? /[*`\\|\n\r]|\$\$/ : /[*`\\\n\r]|\$\$/;
  if (HAS_CONTROL.test(stream) || HAS_CONTROL.test(topic)) return false;
  if (stream.trim() === '' || stream.includes('>') || unsafe.test(stream) || unsafe.test(topic)) return false;
  // `…@` would read as a mention with the closing `**`; `…@123` as a link to message 123.
  return !/@(_?|\d+)$/.test(topic);
}

/**
 * A Zulip link to a topic. Normally `#**stream>topic**`; a topic (or stream) that the syntax
 * cannot carry safely — `*` (mentions, the closing `**`), backticks, `$$` (TeX), `\`, control
 * characters, a trailing `@`, or `|` in a table — gets a Markdown link to its narrow URL instead,
 * labelled with the names shown as typed: it still opens the topic and never mentions anyone.
 */
export function topicLink(stream: string, topic: string, opts: { table?: boolean } = {}): string {
  if (plainLinkable(stream, topic, opts.table === true)) return `#**${stream}>${topic}**`;
  const label = `#${outside(stream, { max: 100, literal: true, table: opts.table === true })} > ${outside(topic, { max: 100, literal: true, table: opts.table === true })}`;
  return `[${label}](#narrow/stream/${hashComponent(stream)}/topic/${hashComponent(topic)})`;
}

/**
 * Splits text into messages under the limit, at line breaks; a table's header is repeated in
 * every part it continues into. A single over-long line is cut.
 */
export function splitMessage(text: string, limit = ZULIP_MESSAGE_LIMIT): string[] {
  if (text.length <= limit) return [text];
  const lines = text.split('\n');
  const parts: string[] = [];
  let current: string[] = [];
  let size = 0;
  let header: string[] | undefined;
  for (let idx = 0; idx < lines.length; idx++) {
    let line = lines[idx] as string;
    if (line.length > limit - 100) line = `${line.slice(0, limit - 101)}…`;
    const isTableHeader = line.startsWith('|') && (lines[idx + 1] ?? '').startsWith('|--') ;
    if (isTableHeader) header = [line, lines[idx + 1] as string];
    else if (!line.startsWith('|')) header = undefined;
    if (size + line.length + 1 > limit && current.length > 0) {
      parts.push(current.join('\n'));
      current = [];
      size = 0;
      if (header && line.startsWith('|') && !isTableHeader && !line.startsWith('|--')) {
        current.push(...header);
        size = header[0]!.length + header[1]!.length + 2;
      }
    }
    current.push(line);
    size += line.length + 1;
  }
  if (current.length > 0) parts.push(current.join('\n'));
  return parts;
}

/** Levenshtein distance, for "did you mean". */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] as number;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j] as number;
      prev[j] = Math.min((prev[j] as number) + 1, (prev[j - 1] as number) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length] as number;
}
