/**
 * The process logger: pino JSON on standard output, one child logger per component.
 *
 * Request and response objects are never logged whole. The redaction list is a second line of
 * defence for code that logs headers by mistake: credentials and cookies come out as "[redacted]".
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

const REDACTED_PATHS = [
  'authorization',
  'cookie',
  'token',
  '*.authorization',
  '*.cookie',
  '*["set-cookie"]',
  '*["proxy-authorization"]',
  '*.token',
  'headers.authorization',
  'headers.cookie',
  'headers["set-cookie"]',
  'headers["proxy-authorization"]',
];

/** Creates the root logger; `destination` defaults to standard output. */
export function createLogger(level: LevelWithSilent, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'revgate' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}
