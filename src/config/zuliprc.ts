/**
 * The bot's Zulip credentials by python-zulip-api's rules (zulip/zulip/__init__.py,
 * `Client.__init__`, and `get_default_config_filename`), so a zuliprc and the `ZULIP_*`
 * variables that work for Zulip's own tools work here:
 *
 * - python-zulip-api fills each value from, in order: the explicit argument, the environment
 *   (`ZULIP_EMAIL`, `ZULIP_API_KEY`, `ZULIP_SITE`, `ZULIP_CONFIG`, `ZULIP_CERT_BUNDLE`,
 *   `ZULIP_ALLOW_INSECURE`), then the zuliprc's `[api]` section (`email`, `key`, `site`,
 *   `cert_bundle`, `insecure`). The file is the explicit `config_file`, else `ZULIP_CONFIG`, else
 *   `~/.zuliprc` when it exists.
 * - The bot: the environment wins over bot.config.json (as it always has for secrets:
 *   `ZULIP_API_KEY` overrides `zulip.apiKey`), and both win over the zuliprc. So, per value:
 *   environment > bot.config.json (`zulip.email`, `zulip.apiKey`, `zulip.site`, `zulip.certBundle`,
 *   `zulip.insecure`) > the zuliprc; the zuliprc is `ZULIP_CONFIG`, else `zulip.zuliprc`, else
 *   `~/.zuliprc` when it exists.
 * - Site: "localhost…" gets `http://`, anything else not starting with "http" gets `https://`;
 *   trailing slashes are stripped. `insecure` must be "true" or "false" (any case).
 *
 * Where the bot is stricter than python-zulip-api (a start that fails is better than one that
 * retries forever): a zuliprc named by `zulip.zuliprc` or `ZULIP_CONFIG` must exist and have an
 * `[api]` section even when the environment gives every value; `~` is expanded in
 * `ZULIP_CONFIG` too (python-zulip-api expands it only in the explicit path).
 */
import { isAbsolute, join, resolve } from 'node:path';

/** Where the bot's Zulip settings came from, for messages. */
export interface ZulipSettings {
  site: string;
  email: string;
  apiKey: string;
  /** Do not verify the server's TLS certificate. */
  insecure: boolean;
  /** A CA bundle (PEM) to verify the server's certificate against. */
  certBundle?: string;
  /** The zuliprc that was read, if any (absolute). */
  zuliprc?: string;
}

/** What the resolver may read: the file system and the user's home. */
export interface ZuliprcFiles {
  readFile(path: string): string;
  exists(path: string): boolean;
  /** $HOME; undefined: no `~` expansion and no default `~/.zuliprc`. */
  home: string | undefined;
  /** The directory relative paths are taken from (the process's cwd). */
  cwd: string;
}

/** The zulip section of bot.config.json, as the schema gives it. */
export interface ZulipConfigInput {
  site?: string | undefined;
  email?: string | undefined;
  apiKey?: string | undefined;
  zuliprc?: string | undefined;
  insecure?: boolean | undefined;
  certBundle?: string | undefined;
}

export type Result<T> = { ok: true; value: T } | { ok: false; errors: string[] };

// ---------------------------------------------------------------------------------------------
// The ini format of Python's configparser (ConfigParser() with its defaults).
// ---------------------------------------------------------------------------------------------

export class IniError extends Error {}

/**
 * Parses ini text as Python's `ConfigParser().read_file` does with its defaults: `[section]`
 * headers, `key = value` or `key: value` (keys lower-cased, both sides trimmed), whole-line
 * comments starting with `#` or `;`, indented lines continuing the previous value, a
 * `[DEFAULT]` section whose values every section sees, `%%` and `%(key)s` interpolation; a
 * value before any header, a repeated section or a repeated key in one section is an error.
 */
export function parseIni(text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  let lastKey: string | undefined;
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  lines.forEach((raw, i) => {
    const where = `line ${i + 1}`;
    const trimmed = raw.trim();
    if (trimmed === '') {
      // An empty line ends a value's continuation (configparser keeps it only inside a value that continues).
      lastKey = undefined;
      return;
    }
    if (/^[#;]/.test(trimmed)) return;
    const indented = /^\s/.test(raw);
    if (indented && current && lastKey !== undefined) {
      current.set(lastKey, `${current.get(lastKey) ?? ''}\n${trimmed}`);
      return;
    }
    const header = /^\[(.+)\]$/.exec(trimmed);
    if (header) {
      const name = header[1] as string;
      if (sections.has(name)) throw new IniError(`${where}: section [${name}] appears twice`);
      current = new Map();
      sections.set(name, current);
      lastKey = undefined;
      return;
    }
    if (!current) throw new IniError(`${where}: a value before any [section] header (expected [api] first)`);
    const m = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(trimmed);
    if (!m) throw new IniError(`${where}: expected "key = value", got ${JSON.stringify(trimmed.slice(0, 40))}`);
    const key = (m[1] as string).toLowerCase();
    if (current.has(key)) throw new IniError(`${where}: "${key}" is set twice in one section`);
    current.set(key, m[2] as string);
    lastKey = key;
  });
  return sections;
}

/** A value of `section` with configparser's BasicInterpolation (`%%`, `%(key)s` from the section or [DEFAULT]). */
export function iniValue(ini: Map<string, Map<string, string>>, section: string, key: string): string | undefined {
  const lookup = (k: string) => ini.get(section)?.get(k) ?? ini.get('DEFAULT')?.get(k);
  const raw = lookup(key);
  if (raw === undefined) return undefined;
  const expand = (value: string, depth: number): string => {
    if (depth > 10) throw new IniError(`[${section}] ${key}: interpolation too deep`);
    return value.replace(/%(%|\((\w+)\)s|)/g, (all, what: string, ref: string | undefined) => {
      if (what === '%') return '%';
      if (ref !== undefined) {
        const v = lookup(ref.toLowerCase());
        if (v === undefined) throw new IniError(`[${section}] ${key}: %(${ref})s names no key`);
        return expand(v, depth + 1);
      }
      throw new IniError(`[${section}] ${key}: a lone "%" (write "%%" for a percent sign)`);
    });
  };
  return expand(raw, 0);
}

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

/** `~` and `~/…` become the home directory (python's os.path.expanduser for the current user). */
export function expandHome(path: string, home: string | undefined): string {
  if (home === undefined) return path;
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  return path;
}

/**
 * python-zulip-api's site rule: "localhost…" gets http://, anything not starting with "http"
 * gets https://, trailing slashes go. Undefined (with the reason) when the result is no http(s) URL.
 */
export function normaliseSite(site: string): { site: string } | { error: string } {
  let s = site.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s) && !/^https?:\/\//i.test(s)) return { error: `expected an http(s) URL like "https://chat.example.org" (got ${JSON.stringify(site)})` };
  if (s.startsWith('localhost')) s = `http://${s}`;
  else if (!s.startsWith('http')) s = `https://${s}`;
  s = s.replace(/\/+$/, '');
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    return { error: `expected a URL like "https://chat.example.org" (got ${JSON.stringify(site)})` };
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') return { error: `expected an http(s) URL like "https://chat.example.org" (got ${JSON.stringify(site)})` };
  return { site: s };
}

/** "true"/"false" in any case, as python-zulip-api's validate_boolean_field; undefined otherwise. */
export function parseBoolean(text: string): boolean | undefined {
  const t = text.toLowerCase();
  return t === 'true' ? true : t === 'false' ? false : undefined;
}

// ---------------------------------------------------------------------------------------------
// The environment
// ---------------------------------------------------------------------------------------------

/**
 * The ZULIP_* variables as overrides of bot.config.json's zulip section (an empty variable counts
 * as unset). Errors name the variable.
 */
export function zulipFromEnv(env: Readonly<Record<string, string | undefined>>): Result<ZulipConfigInput> {
  const out: ZulipConfigInput = {};
  const errors: string[] = [];
  const v = (name: string) => (env[name] !== undefined && env[name] !== '' ? env[name] : undefined);
  if (v('ZULIP_EMAIL')) out.email = v('ZULIP_EMAIL');
  if (v('ZULIP_API_KEY')) out.apiKey = v('ZULIP_API_KEY');
  if (v('ZULIP_SITE')) out.site = v('ZULIP_SITE');
  if (v('ZULIP_CONFIG')) out.zuliprc = v('ZULIP_CONFIG');
  if (v('ZULIP_CERT_BUNDLE')) out.certBundle = v('ZULIP_CERT_BUNDLE');
  const insecure = v('ZULIP_ALLOW_INSECURE');
  if (insecure !== undefined) {
    const b = parseBoolean(insecure);
    if (b === undefined) errors.push(`ZULIP_ALLOW_INSECURE: must be "true" or "false" (got ${JSON.stringify(insecure)})`);
    else out.insecure = b;
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: out };
}

// ---------------------------------------------------------------------------------------------
// Putting it together
// ---------------------------------------------------------------------------------------------

const MISSING = {
  site: 'zulip.site: required (or set ZULIP_SITE, or give zulip.zuliprc with site in its [api] section)',
  email: 'zulip.email: required (or set ZULIP_EMAIL, or give zulip.zuliprc)',
  apiKey: 'zulip.apiKey: required (or set ZULIP_API_KEY, or give zulip.zuliprc)',
};

/**
 * The settings from bot.config.json's zulip section with the environment already applied (see
 * zulipFromEnv) and the zuliprc it names (or `~/.zuliprc`). Every problem is one line naming the
 * key (or the file).
 */
export function resolveZulip(zulip: ZulipConfigInput, files: ZuliprcFiles): Result<ZulipSettings> {
  const errors: string[] = [];
  const given = { ...zulip };
  // The file: named, or ~/.zuliprc when it exists (python-zulip-api's default).
  let path: string | undefined;
  let named = false;
  if (given.zuliprc !== undefined) {
    path = expandHome(given.zuliprc, files.home);
    named = true;
  } else if (files.home !== undefined && files.exists(join(files.home, '.zuliprc'))) {
    path = join(files.home, '.zuliprc');
  }
  if (path !== undefined && !isAbsolute(path)) path = resolve(files.cwd, path);
  const shown = given.zuliprc !== undefined && given.zuliprc !== path ? `${given.zuliprc} (${path})` : path;
  let fromFile: Record<'site' | 'email' | 'key' | 'cert_bundle' | 'insecure', string | undefined> | undefined;
  if (path !== undefined) {
    let text: string | undefined;
    try {
      text = files.readFile(path);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EISDIR' ? 'it is a directory' : e.message;
      errors.push(`zulip.zuliprc: cannot read ${shown}: ${why}`);
    }
    if (text !== undefined) {
      try {
        const ini = parseIni(text);
        if (!ini.has('api')) {
          // python-zulip-api minds a missing [api] only when it needs a value from it; a file named on purpose must be a zuliprc.
          const needed = given.apiKey === undefined || given.email === undefined;
          if (named || needed) errors.push(`zulip.zuliprc: ${shown} has no [api] section (a zuliprc has [api] with email, key and site)`);
        } else {
          fromFile = {
            site: iniValue(ini, 'api', 'site'),
            email: iniValue(ini, 'api', 'email'),
            key: iniValue(ini, 'api', 'key'),
            cert_bundle: iniValue(ini, 'api', 'cert_bundle'),
            insecure: iniValue(ini, 'api', 'insecure'),
          };
        }
      } catch (err) {
        errors.push(`zulip.zuliprc: ${shown}: ${(err as Error).message}`);
      }
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  const site = given.site ?? fromFile?.site;
  const email = given.email ?? fromFile?.email;
  const apiKey = given.apiKey ?? fromFile?.key;
  const certBundle = given.certBundle ?? fromFile?.cert_bundle;
  let insecure = given.insecure;
  if (insecure === undefined && fromFile?.insecure !== undefined) {
    insecure = parseBoolean(fromFile.insecure);
    if (insecure === undefined) errors.push(`zulip.zuliprc: ${shown}: insecure is ${JSON.stringify(fromFile.insecure)}; it must be "true" or "false"`);
  }
  const inFile = path !== undefined ? ` (not in ${shown} either)` : '';
  if (site === undefined || site.trim() === '') errors.push(`${MISSING.site}${inFile}`);
  if (email === undefined || email.trim() === '') errors.push(`${MISSING.email}${inFile}`);
  if (apiKey === undefined || apiKey.trim() === '') errors.push(`${MISSING.apiKey}${inFile}`);
  let normalised: string | undefined;
  if (site !== undefined && site.trim() !== '') {
    const n = normaliseSite(site);
    if ('error' in n) errors.push(`zulip.site: ${n.error}${given.site === undefined ? ` (site in ${shown})` : ''}`);
    else normalised = n.site;
  }
  let bundle: string | undefined;
  if (!insecure && certBundle !== undefined) {
    bundle = isAbsolute(certBundle) ? certBundle : resolve(files.cwd, certBundle);
    if (!files.exists(bundle)) errors.push(`zulip.certBundle: the TLS bundle ${certBundle} does not exist${given.certBundle === undefined ? ` (cert_bundle in ${shown})` : ''}`);
  }
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: {
      site: normalised as string,
      email: (email as string).trim(),
      apiKey: (apiKey as string).trim(),
      insecure: insecure === true,
      ...(bundle !== undefined ? { certBundle: bundle } : {}),
      ...(path !== undefined ? { zuliprc: path } : {}),
    },
  };
}
