import pino from 'pino';

export type Logger = pino.Logger;

/** Keys whose values never reach the logs, wherever they appear. */
export const REDACT_PATHS = [
  'apiKey',
  'api_key',
  'token',
  'password',
  'authorization',
  '*.apiKey',
  '*.api_key',
  '*.token',
  '*.password',
  '*.authorization',
  '*.*.apiKey',
  '*.*.token',
  'headers.authorization',
  'config.zulip.apiKey',
  'config.zabbix.token',
];

/** JSON lines in production; readable lines when `pretty` (the composition root passes stdout.isTTY). */
export function createLogger(level: string, destination?: pino.DestinationStream, pretty = false): Logger {
  const options: pino.LoggerOptions = { level, base: { name: 'zulip-sre-bot' }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  if (pretty && !destination) return pino({ ...options, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,name' } } });
  return pino(options, destination);
}

/** A logger that writes nothing (tests). */
export const silentLogger: Logger = pino({ level: 'silent' });
