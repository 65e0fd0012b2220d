/** Text helpers for what the bot writes into Zulip. Pure. */

/** Zulip's limit on a message's length. */
export const ZULIP_MESSAGE_LIMIT = 10_000;

/**
 * Makes mentions from user-supplied text silent: `@**Name**` → `@_**Name**`, `@*group*` →
 * `@_*group*`, so that echoing text never pings people (and never `@**all**`).
 */
export function neutralizeMentions(text: string): string {
  return text.replace(/@(\*\*|\*)/g, '@_$1');
}

/** A value safe inside a Markdown table cell: one line, pipes escaped, mentions silent. */
export function tableCell(text: string, max = 200): string {
  const one = neutralizeMentions(text).replace(/[\r\n]+/g, ' ').replace(/\|/g, '\\|').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

/** A Zulip link to a topic: #**stream>topic**. */
export function topicLink(stream: string, topic: string): string {
  return `#**${stream}>${topic}**`;
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
