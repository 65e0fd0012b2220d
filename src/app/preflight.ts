/**
 * What the bot checks before it runs (src/main.ts) and what `--check-config --online` prints:
 * Zulip takes the credentials, the configured streams exist and the bot can read them, Zabbix
 * answers and takes the token. A permanent refusal (a wrong API key, a missing stream) is told
 * apart from a passing outage (no answer, a 5xx, a rate limit), which is only waited out.
 */
import type { BotConfig } from '../config/schema';
import type { ZabbixApi } from '../zabbix/client';
import { ZulipError, type ZulipApi, type ZulipUser } from '../zulip/api';

/** The configured streams the bot needs, with their config keys. */
export function configuredStreams(config: Pick<BotConfig, 'streams'>): { key: string; name: string }[] {
  const s = config.streams;
  return [
    { key: 'streams.critical', name: s.critical },
    { key: 'streams.nonCritical', name: s.nonCritical },
    { key: 'streams.informational', name: s.informational },
    { key: 'streams.general', name: s.general },
    { key: 'streams.organisational', name: s.organisational },
  ];
}

/**
 * Why Zulip refuses the bot for good, or undefined when the failure may pass (network, timeout,
 * 5xx, rate limit). A 401 (Zulip's INVALID_API_KEY, USER_DEACTIVATED, REALM_DEACTIVATED, …) or
 * a 403 on the first call means the credentials are wrong.
 */
export function credentialsRefused(err: unknown, site: string, email: string): string | undefined {
  if (!(err instanceof ZulipError) || err.kind !== 'api') return undefined;
  const code = err.code ?? '';
  const refused = err.status === 401 || err.status === 403 || /^(INVALID_API_KEY|UNAUTHORIZED|USER_DEACTIVATED|REALM_DEACTIVATED|UNAUTHORIZED_PRINCIPAL)$/.test(code);
  if (!refused) return undefined;
  const what = err.message.replace(/^[^:]*: /, '');
  return `Zulip at ${site} refused the bot's credentials (${what}${err.status !== undefined ? `, HTTP ${err.status}` : ''}${code ? `, ${code}` : ''}): check the bot's email (${email}) and API key (zulip.apiKey, ZULIP_API_KEY or the zuliprc's key)`;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j] as number;
      row[j] = Math.min(cur + 1, (row[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length] as number;
}

/** The existing stream a mistyped name most likely meant (case, a few letters). */
function closest(name: string, names: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  const same = names.find((n) => n.toLowerCase() === lower);
  if (same) return same;
  const best = names.map((n) => ({ n, d: distance(lower, n.toLowerCase()) })).sort((x, y) => x.d - y.d)[0];
  return best && best.d <= Math.max(2, Math.floor(name.length / 5)) ? best.n : undefined;
}

export interface StreamCheck {
  key: string;
  name: string;
  ok: boolean;
  /** One line: what is wrong, or what was found. */
  detail: string;
}

/**
 * Which configured streams exist among those the bot can see (Zulip's GET /streams lists the
 * public streams and the private ones it is subscribed to). Names are compared as Zulip sends
 * them: a name in another case is a different name to the bot's router.
 */
export function matchStreams(config: Pick<BotConfig, 'streams'>, visible: readonly string[], site: string): StreamCheck[] {
  return configuredStreams(config).map(({ key, name }) => {
    if (visible.includes(name)) return { key, name, ok: true, detail: `"${name}" exists` };
    const hint = closest(name, visible);
    return {
      key,
      name,
      ok: false,
      detail: `stream "${name}" does not exist on ${site}, or is private and the bot is not subscribed to it${hint !== undefined ? `; did you mean "${hint}"?` : ''}`,
    };
  });
}

export interface CheckLine {
  ok: boolean;
  text: string;
}

/** "✓ text" / "✗ text": the lines `--check-config --online` prints. */
export function formatCheck(line: CheckLine): string {
  return `${line.ok ? '✓' : '✗'} ${line.text}`;
}

/**
 * `--check-config --online` for Zulip: logs in (one try, no waiting out an outage), then each
 * configured stream: it exists, and reading its newest message works.
 */
export async function checkZulipOnline(api: ZulipApi, config: Pick<BotConfig, 'streams'>, site: string, email: string): Promise<CheckLine[]> {
  let me: ZulipUser;
  try {
    me = await api.me();
  } catch (err) {
    const refused = credentialsRefused(err, site, email);
    return [{ ok: false, text: `zulip: ${refused ?? `cannot reach Zulip at ${site}: ${(err as Error).message}`}` }];
  }
  const lines: CheckLine[] = [{ ok: true, text: `zulip: logged in to ${site} as ${me.fullName} <${me.email}> (user ${me.id}${me.isBot ? ', a bot' : ''})` }];
  let visible: string[];
  try {
    visible = (await api.streams()).map((s) => s.name);
  } catch (err) {
    return [...lines, { ok: false, text: `streams: cannot list the streams: ${(err as Error).message}` }];
  }
  for (const s of matchStreams(config, visible, site)) {
    if (!s.ok) {
      lines.push({ ok: false, text: `${s.key}: ${s.detail}` });
      continue;
    }
    try {
      await api.latestMessages({ stream: s.name }, 1);
      lines.push({ ok: true, text: `${s.key}: "${s.name}" exists; the bot can read it` });
    } catch (err) {
      lines.push({ ok: false, text: `${s.key}: "${s.name}" exists but the bot cannot read it: ${(err as Error).message}` });
    }
  }
  return lines;
}

/** `--check-config --online` for Zabbix: the API answers (its version), and the token is taken (problem.get). */
export async function checkZabbixOnline(zabbix: Pick<ZabbixApi, 'problems'> & { version?: () => Promise<string> }, url: string): Promise<CheckLine[]> {
  const lines: CheckLine[] = [];
  if (zabbix.version) {
    try {
      lines.push({ ok: true, text: `zabbix.url: Zabbix API ${await zabbix.version()} answers at ${url}` });
    } catch (err) {
      return [{ ok: false, text: `zabbix.url: no Zabbix API at ${url}: ${(err as Error).message}` }];
    }
  }
  try {
    await zabbix.problems({ sinceSec: Math.floor(Date.now() / 1000) });
    lines.push({ ok: true, text: 'zabbix.token: accepted (problem.get answered)' });
  } catch (err) {
    lines.push({ ok: false, text: `zabbix.token: refused or unusable: ${(err as Error).message}` });
  }
  return lines;
}
