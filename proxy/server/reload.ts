/**
 * Config reload, on SIGHUP or `POST /reload`: read the config file again, validate it, build the
 * whole new policy (issuer keys, verifier, routes, responder keys), and only then hand it to the
 * gateway, which swaps it in at once. Any problem keeps the running config, and is logged and
 * counted. Reloads run one at a time, in the order they were requested.
 */
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { RevgateError, describeError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { checkEffectiveConfig, effectiveConfig, restartRequiredChanges } from './config-diff.js';
import { buildPolicyBundle, type PolicyBundle } from './policy.js';

export type ReloadTrigger = 'SIGHUP' | 'admin';

/** The last reload as `/status` shows it. */
export interface ReloadRecord {
  at: string;
  trigger: ReloadTrigger;
  result: 'success' | 'failure';
  /** Every problem found, when the reload failed. */
  problems: string[];
}

export interface ReloadOutcome extends ReloadRecord {
  /** SHA-256 of the config file now running. */
  configDigest: string;
  /** Changed fields that take effect only after a restart. */
  restartRequired: string[];
}

export interface ReloadOptions {
  /** The config running now; the reloader reads it before each reload. */
  running: () => LoadedConfig;
  /** Swaps the new policy in. Must not await, so that no request or event runs with half of the change. */
  apply: (bundle: PolicyBundle, loaded: LoadedConfig, restartRequired: string[]) => void;
  metrics: Metrics;
  logger: Logger;
  now: () => number;
}

export class ConfigReloader {
  private readonly options: ReloadOptions;
  private queue: Promise<unknown> = Promise.resolve();
  private last: ReloadRecord | undefined;

  constructor(options: ReloadOptions) {
    this.options = options;
  }

  /** Reloads after every reload requested earlier has finished; never rejects. */
  reload(trigger: ReloadTrigger): Promise<ReloadOutcome> {
    const next = this.queue
      .then(() => this.reloadNow(trigger))
      .catch((error: unknown) => this.fail(trigger, this.options.running(), [`reload failed unexpectedly: ${describeError(error)}`]));
    this.queue = next;
    return next;
  }

  lastReload(): ReloadRecord | undefined {
    return this.last;
  }

  private async reloadNow(trigger: ReloadTrigger): Promise<ReloadOutcome> {
    const running = this.options.running();
    this.options.logger.info({ trigger, file: running.source }, 'reloading config');

    let next: LoadedConfig;
    let applied: LoadedConfig;
    let bundle: PolicyBundle;
    try {
      next = await loadConfig(running.source);
      applied = { ...next, config: effectiveConfig(running.config, next.config) };
      const problems = checkEffectiveConfig(applied.config);
      if (problems.length > 0) throw new RevgateError('ERR_CONFIG_INVALID', `config file ${running.source}: ${problems.length} problem(s)`, problems);
      bundle = await buildPolicyBundle(applied.config, this.options.now, (issuer, result) => this.options.metrics.recordJwksFetch(issuer, result));
    } catch (error) {
      return this.fail(trigger, running, problemsOf(error));
    }

    const restartRequired = restartRequiredChanges(running.config, next.config);
    this.options.apply(bundle, applied, restartRequired);
    return this.succeed(trigger, applied, restartRequired);
  }

  private fail(trigger: ReloadTrigger, running: LoadedConfig, problems: string[]): ReloadOutcome {
    this.options.metrics.recordReload('failure');
    this.options.logger.error(
      { trigger, file: running.source, problems, runningDigest: running.digest },
      'config reload failed; the previous config keeps running',
    );
    this.last = { at: new Date(this.options.now()).toISOString(), trigger, result: 'failure', problems };
    return { ...this.last, configDigest: running.digest, restartRequired: [] };
  }

  private succeed(trigger: ReloadTrigger, loaded: LoadedConfig, restartRequired: string[]): ReloadOutcome {
    this.options.metrics.recordReload('success');
    const { logger } = this.options;
    logger.info({ trigger, file: loaded.source, digest: loaded.digest }, 'config reloaded: routes, issuers, identity headers and responder keys replaced');
    if (restartRequired.length > 0) {
      logger.warn({ fields: restartRequired }, 'config fields changed that take effect only after a restart; they keep their running values');
    }
    this.last = { at: new Date(this.options.now()).toISOString(), trigger, result: 'success', problems: [] };
    return { ...this.last, configDigest: loaded.digest, restartRequired };
  }
}

/** Lists every problem an error carries: a config error's details, or its one message. */
function problemsOf(error: unknown): string[] {
  if (error instanceof RevgateError) return [error.message, ...error.details];
  return [describeError(error)];
}
