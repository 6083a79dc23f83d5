/**
 * The process logger: pino JSON on standard output, one child logger per component.
 *
 * Request and response objects are never logged whole. The redaction list is a second line of
 * defence for code that logs headers by mistake: credentials and cookies come out as "[redacted]".
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** Header and field names whose values are credentials, in the spellings that code may log them with. */
const SECRET_NAMES = [
  'authorization', 'Authorization', 'proxy-authorization', 'Proxy-Authorization',
  'cookie', 'Cookie', 'set-cookie', 'Set-Cookie', 'token',
];

/** Paths of secrets: at the top level, in any object one level down, and in a `headers` object two levels down. */
const REDACTED_PATHS = SECRET_NAMES.flatMap((name) => {
  const key = `["${name}"]`;
  return [key, `*${key}`, `*.headers${key}`];
});

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

/**
 * Creates a component's child logger that writes lines at `floor` and above even when the root
 * level is quieter, so that starts, stops, reconnects, resyncs and reloads are always logged. A
 * `silent` root keeps the child silent. The child's level is fixed when it is created.
 */
export function componentLogger(root: Logger, component: string, floor: 'info' | 'warn'): Logger {
  const rootLevel = root.level as LevelWithSilent;
  const moreVerbose = rootLevel === 'silent' || root.levels.values[rootLevel]! <= root.levels.values[floor]! ? rootLevel : floor;
  return root.child({ component }, { level: moreVerbose });
}
