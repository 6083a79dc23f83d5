/**
 * The split of config fields into those a reload applies and those that need a restart. A reload
 * applies the fields that only the request policy and the replica's responder keys read: routes,
 * issuers, identity headers, logging, adminReload, and the responder keys and staleness limits
 * under `revocation`. Listener addresses, `server`, `upstream`, `logLevel` and the NATS and stream
 * settings are read once at start. Fields not named here need a restart, so a field added later is
 * never half applied.
 */
import type { Config } from '../config/schema.js';

/** Top-level fields that a reload applies. */
const RELOADABLE = ['issuers', 'identityHeaders', 'routes', 'logging', 'adminReload'] as const;

/** Fields under `revocation` that a reload applies. */
const RELOADABLE_REVOCATION = ['trustedResponders', 'liftResponders', 'maxStaleness', 'readiness'] as const;

/**
 * Returns the config that runs after a reload: the reloadable fields from `next`, every other field
 * from `running`.
 */
export function effectiveConfig(running: Config, next: Config): Config {
  const merged: Record<string, unknown> = { ...running };
  for (const field of RELOADABLE) merged[field] = next[field as keyof Config];

  const revocation: Record<string, unknown> = { ...running.revocation };
  for (const field of RELOADABLE_REVOCATION) revocation[field] = next.revocation[field as keyof Config['revocation']];
  merged['revocation'] = Object.freeze(revocation);
  return Object.freeze(merged) as unknown as Config;
}

/**
 * Checks rules of the schema that span a reloadable and a restart-only field, which the merge of
 * two valid configs can break. Returns one message per broken rule.
 */
export function checkEffectiveConfig(config: Config): string[] {
  const { probeInterval, maxStaleness } = config.revocation;
  if (probeInterval < maxStaleness) return [];
  return [
    `revocation.maxStaleness ${maxStaleness}ms: must be longer than the running revocation.probeInterval ` +
      `(${probeInterval}ms), which changes only with a restart; raise maxStaleness or restart with a shorter probeInterval`,
  ];
}

/** Lists the fields, as dotted paths, whose value differs between two configs and that a reload does not apply. */
export function restartRequiredChanges(running: Config, next: Config): string[] {
  const applied = effectiveConfig(running, next);
  return changedPaths(applied, next, '');
}

function changedPaths(before: unknown, after: unknown, prefix: string): string[] {
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) => changedPaths(before[key], after[key], prefix === '' ? key : `${prefix}.${key}`));
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [prefix];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
