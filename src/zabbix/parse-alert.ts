/**
 * Parser for the alert posts Zulip's Zabbix integration makes (its message template; the
 * project's own media type, zabbix/zulip-media-type.yaml, posts the same form):
 *
 *     [<emoji> ]<STATUS> (<Severity>) alert on [<host>](<zabbix>/tr_events.php?triggerid=<T>&eventid=<E>):
 *     * <trigger name>
 *     * <item name> is <item value>
 *
 * Pure: no I/O, no clock, never throws. Work is bounded: posts over MAX_ALERT_POST_LENGTH chars are
 * rejected up front, and every regular expression is anchored with bounded quantifiers over disjoint
 * character classes (no catastrophic backtracking); everything else is single-pass scanning.
 */
import { type AlertStatus, type ParseResult, type ZabbixAlert } from '../domain/alert';
import { SEVERITY_CLASS, type Severity } from '../domain/classes';

export const MAX_ALERT_POST_LENGTH = 20_000;

const FIRST_LINE_REASON = 'first line is not "<STATUS> (<Severity>) alert on [host](link)"';

// Maps, not object literals: a lookup of e.g. "constructor" must not hit Object.prototype.
const STATUSES: ReadonlyMap<string, AlertStatus> = new Map([
  ['problem', 'PROBLEM'],
  ['ok', 'OK'],
  ['resolved', 'OK'],
]);

/** Keys are normalised spellings: lower case, runs of whitespace/`_`/`-` collapsed to one space. */
const SEVERITIES: ReadonlyMap<string, Severity> = new Map([
  ['not classified', 'Not classified'],
  ['notclassified', 'Not classified'],
  ['information', 'Information'],
  ['warning', 'Warning'],
  ['average', 'Average'],
  ['high', 'High'],
  ['disaster', 'Disaster'],
]);

/** `:name:` emoji code as Zulip writes it. */
const EMOJI_CODE_RE = /^:[A-Za-z0-9_+-]{1,64}:/;

/**
 * One Unicode emoji, possibly a multi-codepoint sequence: a flag (two regional indicators), a keycap,
 * or a pictograph with optional variation selector, skin-tone modifier and tag sequence, joined by
 * ZWJ to at most 8 more such elements. Alternatives start with disjoint code points and each optional
 * part is a distinct class, so matching is linear.
 */
const EMOJI_ELEMENT = String.raw`(?:\p{Regional_Indicator}{2}|[#*0-9]\uFE0F?\u20E3|\p{Extended_Pictographic}[\uFE0E\uFE0F]?\p{Emoji_Modifier}?[\u{E0020}-\u{E007E}]{0,16}\u{E007F}?)`;
const UNICODE_EMOJI_RE = new RegExp(String.raw`^${EMOJI_ELEMENT}(?:\u200D${EMOJI_ELEMENT}){0,8}`, 'u');

/** `<STATUS> (<Severity>) alert on ` — everything up to the `[host](link)` part. */
const HEADER_RE = /^([A-Za-z]{1,20})[ \t]{0,20}\(([^()\n]{1,40})\)[ \t]{0,20}alert[ \t]{1,20}on[ \t]{1,20}/i;

/** http(s) scheme and a non-empty authority, followed by a path, query, fragment or nothing. */
const HTTP_URL_RE = /^https?:\/\/[^/?#\s]{1,255}(?:[/?#]|$)/i;

const DIGITS_RE = /^[0-9]{1,20}$/;

/** CommonMark backslash escape: a backslash before any ASCII punctuation character. */
const MD_ESCAPE_RE = /\\([!-/:-@[-`{-~])/g;

function isAsciiPunct(ch: string): boolean {
  const c = ch.charCodeAt(0);
  return (c >= 0x21 && c <= 0x2f) || (c >= 0x3a && c <= 0x40) || (c >= 0x5b && c <= 0x60) || (c >= 0x7b && c <= 0x7e);
}

export function unescapeMarkdown(text: string): string {
  return text.replace(MD_ESCAPE_RE, '$1');
}

function quote(value: string): string {
  const v = value.length > 40 ? `${value.slice(0, 40)}…` : value;
  return JSON.stringify(v);
}

function fail(reason: string): ParseResult {
  return { ok: false, reason };
}

/** Strip a leading `:code:` or Unicode emoji (and the whitespace after it). */
function splitEmoji(line: string): { emoji?: string; rest: string } {
  const m = EMOJI_CODE_RE.exec(line) ?? UNICODE_EMOJI_RE.exec(line);
  if (!m) return { rest: line };
  return { emoji: m[0], rest: line.slice(m[0].length).trimStart() };
}

/**
 * Reads the Markdown link text starting just after `[`: up to the matching unescaped `]` (balanced
 * nested brackets allowed, `\]` does not close). Returns the raw text and the index after `]`.
 */
function scanLinkText(s: string, start: number): { raw: string; end: number } | undefined {
  let depth = 0;
  for (let i = start; i < s.length; i++) {
    const ch = s.charAt(i);
    if (ch === '\\' && i + 1 < s.length && isAsciiPunct(s.charAt(i + 1))) {
      i++;
    } else if (ch === '[') {
      depth++;
    } else if (ch === ']') {
      if (depth === 0) return { raw: s.slice(start, i), end: i + 1 };
      depth--;
    }
  }
  return undefined;
}

type LinkParts = { link: string; zabbixUrl: string; triggerId: string; eventId: string };

function parseLink(rawLink: string): LinkParts | { error: string } {
  let link = rawLink.trim();
  if (link.startsWith('<') && link.endsWith('>')) link = link.slice(1, -1).trim();
  if (link === '') return { error: 'missing link' };
  if (/\s/.test(link)) return { error: 'link contains whitespace' };
  link = link.replace(/&amp;/gi, '&');
  if (!HTTP_URL_RE.test(link)) return { error: `link is not an http(s) URL: ${quote(link)}` };

  // Find "/tr_events.php" as a path segment that ends the path (followed by ?, # or end).
  const lower = link.toLowerCase();
  const needle = '/tr_events.php';
  let at = -1;
  for (let from = 0; ; ) {
    const i = lower.indexOf(needle, from);
    if (i < 0) break;
    const next = link.charAt(i + needle.length);
    if (next === '' || next === '?' || next === '#') {
      at = i;
      break;
    }
    from = i + 1;
  }
  const schemeEnd = link.indexOf('//') + 2;
  const zabbixUrl = at >= 0 ? link.slice(0, at) : '';
  if (at < 0 || zabbixUrl.length <= schemeEnd || /[?#]/.test(zabbixUrl)) {
    return { error: 'link is not a Zabbix tr_events.php URL' };
  }

  const afterPage = link.slice(at + needle.length);
  const hash = afterPage.indexOf('#');
  const beforeHash = hash >= 0 ? afterPage.slice(0, hash) : afterPage;
  const query = beforeHash.startsWith('?') ? beforeHash.slice(1) : '';
  const params = new Map<string, string>();
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    const key = (eq >= 0 ? pair.slice(0, eq) : pair).toLowerCase();
    if (key !== 'triggerid' && key !== 'eventid') continue;
    const value = eq >= 0 ? pair.slice(eq + 1) : '';
    const seen = params.get(key);
    if (seen !== undefined && seen !== value) return { error: `link has conflicting ${key} values` };
    params.set(key, value);
  }

  const ids: Record<'triggerid' | 'eventid', string> = { triggerid: '', eventid: '' };
  for (const key of ['eventid', 'triggerid'] as const) {
    const value = params.get(key);
    if (value === undefined) return { error: `link has no ${key}` };
    if (!DIGITS_RE.test(value)) {
      return { error: /^[0-9]+$/.test(value) ? `link ${key} is too long` : `link has non-numeric ${key} ${quote(value)}` };
    }
    ids[key] = value;
  }
  return { link, zabbixUrl, triggerId: ids.triggerid, eventId: ids.eventid };
}

/** `* text` / `- text` / `+ text` → `text` (trimmed); undefined when the line is not a bullet. */
function bulletText(line: string): string | undefined {
  const marker = line.charAt(0);
  if (marker !== '*' && marker !== '-' && marker !== '+') return undefined;
  if (line.length === 1) return '';
  const sep = line.charAt(1);
  if (sep !== ' ' && sep !== '\t') return undefined;
  return line.slice(2).trim();
}

/**
 * Parses a Zulip message body as a Zabbix alert post. Never throws; on anything that is not an alert
 * post returns `{ ok: false, reason }` with a short, specific reason.
 */
export function parseAlert(content: string): ParseResult {
  if (typeof content !== 'string') return fail('post is not a string');
  if (content.length > MAX_ALERT_POST_LENGTH) {
    return fail(`post too long (${content.length} chars, max ${MAX_ALERT_POST_LENGTH})`);
  }
  const text = content.replace(/\r\n?/g, '\n').trim();
  if (text === '') return fail('empty post');

  const lines = text.split('\n');
  let lineNo = 0;
  const nextNonBlank = (): string | undefined => {
    while (lineNo < lines.length) {
      const line = (lines[lineNo++] ?? '').trim();
      if (line !== '') return line;
    }
    return undefined;
  };

  // --- First line: [<emoji> ]<STATUS> (<Severity>) alert on [<host>](<link>)[:]
  const first = nextNonBlank() ?? '';
  const { emoji, rest } = splitEmoji(first);
  const header = HEADER_RE.exec(rest);
  if (!header) return fail(FIRST_LINE_REASON);
  const statusWord = header[1] ?? '';
  const severityText = (header[2] ?? '').trim();

  const status = STATUSES.get(statusWord.toLowerCase());
  if (status === undefined) return fail(`unknown status ${quote(statusWord)}`);
  const severity = SEVERITIES.get(severityText.toLowerCase().replace(/[\s_-]+/g, ' ').trim());
  if (severity === undefined) return fail(`unknown severity ${quote(severityText)}`);

  const target = rest.slice(header[0].length);
  if (!target.startsWith('[')) return fail('missing link: expected "[host](link)" after "alert on"');
  const linkText = scanLinkText(target, 1);
  if (!linkText) return fail('host link text is not closed with "]"');
  const host = unescapeMarkdown(linkText.raw).trim();
  if (host === '') return fail('empty host');
  let tail = target.slice(linkText.end);
  if (!tail.startsWith('(')) return fail('missing link after [host]');
  tail = tail.trimEnd();
  if (tail.endsWith(':')) tail = tail.slice(0, -1).trimEnd();
  if (!tail.endsWith(')') || tail.length < 2) {
    return fail(tail.includes(')') ? 'unexpected text after the link' : 'link is not closed with ")"');
  }
  const linkParts = parseLink(tail.slice(1, -1));
  if ('error' in linkParts) return fail(linkParts.error);

  // --- Second line: * <trigger name>
  const triggerLine = nextNonBlank();
  if (triggerLine === undefined) return fail('missing trigger name line');
  const triggerRaw = bulletText(triggerLine);
  if (triggerRaw === undefined) return fail('trigger name line is not a bullet ("* <trigger name>")');
  const triggerName = unescapeMarkdown(triggerRaw).trim();
  if (triggerName === '') return fail('empty trigger name');

  // --- Optional third line: * <item name> is <item value>. Anything after it is ignored.
  const itemLine = nextNonBlank();
  const itemText = (itemLine === undefined ? undefined : bulletText(itemLine)) ?? '';

  const alert: ZabbixAlert = {
    status,
    severity,
    incidentClass: SEVERITY_CLASS[severity],
    host,
    zabbixUrl: linkParts.zabbixUrl,
    link: linkParts.link,
    triggerId: linkParts.triggerId,
    eventId: linkParts.eventId,
    triggerName,
    itemText,
  };
  if (emoji !== undefined) alert.emoji = emoji;
  return { ok: true, alert };
}
