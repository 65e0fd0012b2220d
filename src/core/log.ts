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

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, base: { name: 'zulip-sre-bot' }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, destination);
}

/** A logger that writes nothing (tests). */
export const silentLogger: Logger = pino({ level: 'silent' });
