/** The command line (node:util.parseArgs): what src/main.ts is asked to do. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';

export type Cli =
  | { action: 'run'; config?: string }
  | { action: 'check-config'; config?: string; online: boolean }
  | { action: 'help' }
  | { action: 'version' }
  /** `migrate --from sqlite:PATH --to postgres://…` (issue 22): copies the SQLite store into PostgreSQL. */
  | { action: 'migrate'; from: string; to: string }
  | { action: 'error'; message: string };

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  'check-config': { type: 'boolean' },
  online: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

export const USAGE = `Usage: zulip-sre-bot --config FILE [--check-config [--online]]
       npm start -- --config FILE

  -c, --config FILE   the bot's config (JSON; see bot.config.example.json)
      --check-config  validate every value of the config and exit (0: valid, 2: not)
      --online        with --check-config: also log in to Zulip (and Zabbix and GitLab when
                      configured) and check the streams exist and the bot can read them
      zulip-sre-bot migrate --from sqlite:PATH --to postgres://USER@HOST/DB
                      copy a SQLite store's state into an empty PostgreSQL database (store.url)
  -h, --help          this text
  -v, --version       the bot's version

Environment: ZULIP_EMAIL, ZULIP_API_KEY, ZULIP_SITE, ZULIP_CONFIG (a zuliprc), ZULIP_CERT_BUNDLE,
ZULIP_ALLOW_INSECURE, ZABBIX_TOKEN, GITLAB_TOKEN, LOG_LEVEL, LOG_FORMAT=json, SRE_BOT_DATA_DIR,
DATABASE_URL (store.url).
Exit codes: 0 stopped by SIGTERM/SIGINT (or --help, --version, a valid --check-config);
1 a fault at run time (the store unusable, an unexpected error); 2 something to fix before it
can run (the config, the credentials, a missing stream, the store in use by another bot).
`;

/** Levenshtein distance, for "did you mean". */
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

function suggestion(flag: string): string {
  const name = flag.replace(/^-+/, '').split('=')[0] as string;
  const best = Object.keys(OPTIONS)
    .map((o) => ({ o, d: distance(name, o) }))
    .sort((x, y) => x.d - y.d)[0];
  return best && best.d <= 2 ? ` (did you mean --${best.o}?)` : '';
}

/** Parses the arguments after the script name; an error is one line (exit 2). */
export function parseCli(argv: readonly string[]): Cli {
  if (argv[0] === 'migrate') return parseMigrate(argv.slice(1));
  let values: { config?: string; 'check-config'?: boolean; online?: boolean; help?: boolean; version?: boolean };
  try {
    ({ values } = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (err) {
    const e = err as Error & { code?: string };
    const flag = /'([^']+)'/.exec(e.message)?.[1] ?? '';
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return { action: 'error', message: `unknown option ${flag}${suggestion(flag)}; see --help` };
    if (e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return { action: 'error', message: `unexpected argument ${JSON.stringify(flag)}; see --help` };
    if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      if (/--config|-c\b/.test(e.message)) return { action: 'error', message: '--config needs a file: --config bot.config.json' };
      return { action: 'error', message: `${/--[a-z-]+/.exec(e.message)?.[0] ?? 'that option'} takes no value; see --help` };
    }
    return { action: 'error', message: `${e.message.split('\n')[0]}; see --help` };
  }
  if (values.help) return { action: 'help' };
  if (values.version) return { action: 'version' };
  const config = values.config !== undefined ? { config: values.config } : {};
  if (values.config !== undefined && values.config.trim() === '') return { action: 'error', message: '--config needs a file: --config bot.config.json' };
  if (values['check-config']) return { action: 'check-config', ...config, online: values.online === true };
  if (values.online) return { action: 'error', message: '--online goes with --check-config: --check-config --online' };
  return { action: 'run', ...config };
}

/** The version in the project's package.json (found upward from this file: src/app, dist/src/app, the image's /app). */
export function packageVersion(from = __dirname): string {
  for (let dir = from, i = 0; i < 6; dir = dirname(dir), i++) {
    const p = join(dir, 'package.json');
    if (!existsSync(p)) continue;
    try {
      const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'zulip-sre-bot' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not ours: look further up
    }
  }
  return 'unknown';
}

function parseMigrate(argv: readonly string[]): Cli {
  let values: { from?: string; to?: string };
  try {
    ({ values } = parseArgs({ args: [...argv], options: { from: { type: 'string' }, to: { type: 'string' } }, strict: true, allowPositionals: false }));
  } catch (err) {
    return { action: 'error', message: `migrate: ${(err as Error).message.split('\n')[0]}; usage: migrate --from sqlite:PATH --to postgres://…` };
  }
  const from = /^sqlite:(.+)$/.exec(values.from ?? '')?.[1];
  if (!from) return { action: 'error', message: 'migrate: --from sqlite:PATH (the SQLite store, e.g. sqlite:/data/zulip-sre-bot.db) is required' };
  const to = values.to ?? '';
  if (!/^postgres(ql)?:\/\/\S+$/.test(to)) return { action: 'error', message: 'migrate: --to postgres://USER@HOST/DB (the PostgreSQL database) is required' };
  return { action: 'migrate', from, to };
}
