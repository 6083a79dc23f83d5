/**
 * The issuer registry: one entry per configured issuer, holding its verification options and its
 * key source. A key source is either a local JWKS file, read once at start-up, or a remote JWKS URL
 * that jose fetches and caches. A remote fetch failure becomes KeysUnavailableError, which the
 * pipeline turns into a 503: the token may well be valid, and a 401 would tell the client to
 * discard it.
 */
import { readFile } from 'node:fs/promises';

import { createLocalJWKSet, createRemoteJWKSet, customFetch, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';

import type { IssuerConfig } from '../config/schema.js';
import { RevgateError, describeError } from '../errors.js';

export class KeysUnavailableError extends Error {
  constructor(issuer: string, options?: ErrorOptions) {
    super(`keys of issuer ${issuer} could not be loaded`, options);
    this.name = 'KeysUnavailableError';
  }
}

export interface Issuer {
  readonly config: IssuerConfig;
  readonly getKey: JWTVerifyGetKey;
}

/** Errors that mean "this key set has no such key", as opposed to "the key set could not be read". */
const KEY_LOOKUP_CODES = new Set(['ERR_JWKS_NO_MATCHING_KEY', 'ERR_JWKS_MULTIPLE_MATCHING_KEYS']);

export class IssuerRegistry {
  private readonly issuers: ReadonlyMap<string, Issuer>;

  private constructor(issuers: Map<string, Issuer>) {
    this.issuers = issuers;
  }

  /**
   * Builds the registry, reading every JWKS file; throws one error listing every unreadable file.
   * `observeFetch` is told about every fetch of a remote JWKS and whether it succeeded.
   */
  static async load(configs: readonly IssuerConfig[], observeFetch?: JwksFetchObserver): Promise<IssuerRegistry> {
    const issuers = new Map<string, Issuer>();
    const problems: string[] = [];
    for (const [index, config] of configs.entries()) {
      try {
        issuers.set(config.issuer, { config, getKey: await createKeySource(config, observeFetch) });
      } catch (error) {
        problems.push(`issuers[${index}].jwks: ${describeError(error)}`);
      }
    }
    if (problems.length > 0) throw new RevgateError('ERR_KEY_INVALID', 'issuer keys could not be loaded', problems);
    return new IssuerRegistry(issuers);
  }

  /** Looks up an issuer by the exact `iss` string; no normalisation, so that no two spellings collide. */
  find(iss: string): Issuer | undefined {
    return this.issuers.get(iss);
  }

  get all(): Issuer[] {
    return [...this.issuers.values()];
  }
}

/** Called after each fetch of a remote JWKS, with its outcome. */
export type JwksFetchObserver = (issuer: string, result: 'success' | 'failure') => void;

async function createKeySource(config: IssuerConfig, observeFetch?: JwksFetchObserver): Promise<JWTVerifyGetKey> {
  const { file, url } = config.jwks;
  if (file !== undefined) return createLocalJWKSet(await readJwksFile(file));
  if (url === undefined) throw new TypeError(`issuer ${config.issuer}: jwks has neither file nor url`);

  const remote = createRemoteJWKSet(new URL(url), {
    timeoutDuration: config.jwks.timeout,
    cooldownDuration: config.jwks.cooldown,
    [customFetch]: async (input, init) => {
      try {
        const response = await fetch(input, init);
        observeFetch?.(config.issuer, response.ok ? 'success' : 'failure');
        return response;
      } catch (error) {
        observeFetch?.(config.issuer, 'failure');
        throw error;
      }
    },
  });
  return async (header, token) => {
    try {
      return await remote(header, token);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string' && KEY_LOOKUP_CODES.has(code)) throw error;
      throw new KeysUnavailableError(config.issuer, { cause: error });
    }
  };
}

/** Reads a JWKS file (`{"keys": [...]}`) and checks its shape; jose checks each key when it is used. */
export async function readJwksFile(file: string): Promise<JSONWebKeySet> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'not valid JSON';
    throw new RevgateError('ERR_KEY_INVALID', `${file}: cannot be read as a JWKS (${reason})`, [], { cause: error });
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.some((key) => key === null || typeof key !== 'object')) {
    throw new RevgateError('ERR_KEY_INVALID', `${file}: must be a JWKS, an object with a "keys" array of JWK objects`);
  }
  if (keys.some((key) => 'd' in key)) {
    throw new RevgateError('ERR_KEY_INVALID', `${file}: contains a private key ("d"); a JWKS for verification must hold public keys only`);
  }
  return parsed as JSONWebKeySet;
}
