import { isAbsolute, join } from 'node:path';
import { configSchema, type BotConfig } from './schema';
import { resolveZulip, zulipFromEnv, type ZulipConfigInput, type ZuliprcFiles } from './zuliprc';

export type LoadResult = { ok: true; config: BotConfig } | { ok: false; errors: string[] };

export interface ConfigSources {
  /** Command-line arguments after the script name (only `--config` is read). */
  argv: readonly string[];
  /** The config file's path, when the caller parsed the command line itself (wins over argv). */
  path?: string;
  env: Readonly<Record<string, string | undefined>>;
  readFile: (path: string) => string;
  /**
   * Where a zuliprc is read from (src/config/zuliprc.ts). Absent: a zuliprc is not read, its
   * values are taken as given (the unit tests of the schema).
   */
  files?: ZuliprcFiles;
}

/** The value of `--config FILE` or `--config=FILE`. */
export function configPathFrom(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--config') return argv[i + 1];
    if (a.startsWith('--config=')) return a.slice('--config='.length);
  }
  return undefined;
}

/** Reads, parses and validates the config; every problem becomes one line naming its key path. */
export function loadConfig({ argv, path: given, env, readFile, files }: ConfigSources): LoadResult {
  const path = given ?? configPathFrom(argv);
  if (!path) return { ok: false, errors: ['--config: missing; usage: npm start -- --config FILE'] };
  let text: string;
  try {
    text = readFile(path);
  } catch (err) {
    return { ok: false, errors: [`--config: cannot read ${path}: ${(err as Error).message}`] };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { ok: false, errors: [`--config: ${path} is not valid JSON: ${(err as Error).message}`] };
  }
  // JSON.parse keeps the last of two equal keys without a word: a typo'd copy would win silently.
  const duplicates = duplicateKeys(text).map((key) => `${key}: duplicate key (the file sets it more than once; remove all but one)`);
  const result = validateConfig(raw, env, files);
  if (duplicates.length === 0) return result;
  return { ok: false, errors: [...duplicates, ...(result.ok ? [] : result.errors)] };
}

/**
 * The key paths (`sla.critical.remindEvery`, `runbook.rules.2.name`) that an object in this JSON
 * text has more than once, in the order they appear, each once. The text must be valid JSON
 * (JSON.parse accepted it): this only walks it.
 */
export function duplicateKeys(text: string): string[] {
  const found: string[] = [];
  let i = 0;
  const space = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const string = (): string => {
    const start = i++;
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (path: string): void => {
    space();
    const c = text[i];
    if (c === '{') {
      i++;
      const seen = new Set<string>();
      space();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        space();
        const key = string();
        const at = path === '' ? key : `${path}.${key}`;
        if (seen.has(key) && !found.includes(at)) found.push(at);
        seen.add(key);
        space();
        i++; // ':'
        value(at);
        space();
        if (text[i++] !== ',') return; // '}'
      }
    }
    if (c === '[') {
      i++;
      space();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (let n = 0; ; n++) {
        value(path === '' ? String(n) : `${path}.${n}`);
        space();
        if (text[i++] !== ',') return; // ']'
      }
    }
    if (c === '"') {
      string();
      return;
    }
    while (i < text.length && !',}] \t\n\r'.includes(text[i] as string)) i++; // number, true, false, null
  };
  value('');
  return found;
}

/**
 * Validates an already-parsed config object, applying environment overrides for secrets and the
 * Zulip settings (ZULIP_*), then the zuliprc when `files` is given (src/config/zuliprc.ts).
 * `SRE_BOT_DATA_DIR` (set in the container image): a relative `store.path` is taken from there.
 */
export function validateConfig(raw: unknown, env: Readonly<Record<string, string | undefined>> = {}, files?: ZuliprcFiles): LoadResult {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, errors: ['(root): expected a JSON object'] };
  }
  const zulipEnv = zulipFromEnv(env);
  const withEnv = applyEnv(raw as Record<string, unknown>, env, zulipEnv.ok ? zulipEnv.value : {});
  const parsed = configSchema.safeParse(withEnv);
  const envErrors = zulipEnv.ok ? [] : zulipEnv.errors;
  if (parsed.success) {
    const config = parsed.data;
    const dataDir = env.SRE_BOT_DATA_DIR;
    if (dataDir && !isAbsolute(config.store.path)) config.store.path = join(dataDir, config.store.path);
    if (files) {
      const zulip = resolveZulip(config.zulip, files);
      if (!zulip.ok || envErrors.length > 0) return { ok: false, errors: [...envErrors, ...(zulip.ok ? [] : zulip.errors)] };
      const { site, email, apiKey, insecure, certBundle, zuliprc } = zulip.value;
      config.zulip = { ...config.zulip, site, email, apiKey, insecure, ...(certBundle !== undefined ? { certBundle } : {}), ...(zuliprc !== undefined ? { zuliprc } : {}) };
      return { ok: true, config };
    }
    const missing = missingZulip(config.zulip);
    if (missing.length > 0 || envErrors.length > 0) return { ok: false, errors: [...envErrors, ...missing] };
    return { ok: true, config };
  }
  const rawZulip = withEnv.zulip;
  const missing = typeof rawZulip === 'object' && rawZulip !== null && !Array.isArray(rawZulip) ? missingZulip(rawZulip as ZulipConfigInput) : [];
  const errors = parsed.error.issues.map((issue) => {
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [undefined];
    return keys
      .map((k) => {
        const where = [...issue.path, ...(k === undefined ? [] : [k])].map(String).join('.') || '(root)';
        const msg = issue.code === 'unrecognized_keys' ? 'unknown key' : issue.message;
        return `${where}: ${msg}`;
      })
      .join('\n');
  });
  const lines = errors.join('\n').split('\n');
  // The schema already named a bad value; a missing one is named here (it may come from elsewhere).
  const named = new Set(lines.map((l) => l.slice(0, l.indexOf(':'))));
  return { ok: false, errors: [...envErrors, ...lines, ...missing.filter((m) => !named.has(m.slice(0, m.indexOf(':'))))] };
}

/** Without reading a zuliprc: the Zulip settings that nothing gives (a zuliprc may give all). */
function missingZulip(z: ZulipConfigInput): string[] {
  if (z.zuliprc !== undefined) return [];
  return [
    ...(z.site === undefined ? ['zulip.site: required (or set ZULIP_SITE, or give zulip.zuliprc)'] : []),
    ...(z.email === undefined ? ['zulip.email: required (or set ZULIP_EMAIL, or give zulip.zuliprc)'] : []),
    ...(z.apiKey === undefined ? ['zulip.apiKey: required (or set ZULIP_API_KEY, or give zulip.zuliprc)'] : []),
  ];
}

function applyEnv(raw: Record<string, unknown>, env: Readonly<Record<string, string | undefined>>, zulip: ZulipConfigInput): Record<string, unknown> {
  const out = { ...raw };
  const section = (key: string): Record<string, unknown> => {
    const v = out[key];
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? { ...(v as Record<string, unknown>) } : {};
  };
  // ZULIP_EMAIL, ZULIP_API_KEY, ZULIP_SITE, ZULIP_CONFIG, ZULIP_CERT_BUNDLE, ZULIP_ALLOW_INSECURE (src/config/zuliprc.ts).
  if (Object.keys(zulip).length > 0) out.zulip = { ...section('zulip'), ...zulip };
  if (env.ZABBIX_TOKEN) out.zabbix = { ...section('zabbix'), token: env.ZABBIX_TOKEN };
  if (env.GITLAB_TOKEN) out.gitlab = { ...section('gitlab'), token: env.GITLAB_TOKEN };
  if (env.LOG_LEVEL) out.log = { ...section('log'), level: env.LOG_LEVEL };
  if (env.DATABASE_URL) out.store = { ...section('store'), url: env.DATABASE_URL };
  return out;
}
