import { packageVersion, parseCli, USAGE } from './cli';

test.each([
  [['--config', 'bot.json'], { action: 'run', config: 'bot.json' }],
  [['-c', 'bot.json'], { action: 'run', config: 'bot.json' }],
  [['--config=bot.json', '--check-config'], { action: 'check-config', config: 'bot.json', online: false }],
  [['--check-config', '--online', '--config', 'b.json'], { action: 'check-config', config: 'b.json', online: true }],
  [['--help'], { action: 'help' }],
  [['-h', '--config', 'x'], { action: 'help' }],
  [['--version'], { action: 'version' }],
  [[], { action: 'run' }],
])('%j', (argv, cli) => expect(parseCli(argv)).toEqual(cli));

test.each([
  [['--chek-config', '--config', 'b.json'], 'unknown option --chek-config (did you mean --check-config?); see --help'],
  [['--config', 'b.json', '--verbose'], 'unknown option --verbose; see --help'],
  [['--config'], '--config needs a file: --config bot.config.json'],
  [['--config='], '--config needs a file: --config bot.config.json'],
  [['--config', 'b.json', 'migrate'], 'unexpected argument "migrate"; see --help'],
  [['--help=yes'], '--help takes no value; see --help'],
  [['--online', '--config', 'b.json'], '--online goes with --check-config: --check-config --online'],
])('%j is an error: %s', (argv, message) => expect(parseCli(argv)).toEqual({ action: 'error', message }));

test('the version is package.json\'s; the usage names every option', () => {
  expect(packageVersion()).toMatch(/^\d+\.\d+\.\d+/);
  for (const o of ['--config', '--check-config', '--online', '--help', '--version']) expect(USAGE).toContain(o);
});
