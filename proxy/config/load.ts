/**
 * Loading a config file: read, parse YAML (JSON is valid YAML), validate against the schema,
 * resolve relative file paths against the config file's folder, then freeze.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { parseDocument } from 'yaml';
import type { z } from 'zod';

import { RevgateError } from '../errors.js';
import { configSchema, type Config, type NatsSettings } from './schema.js';

export interface LoadedConfig {
  config: Config;
  /** Absolute path of the file the config came from. */
  source: string;
  /** SHA-256 of the file's bytes, to tell which config a process runs. */
  digest: string;
}

/** Reads and validates a config file, throwing one error that lists every problem found. */
export async function loadConfig(file: string): Promise<LoadedConfig> {
  const source = path.resolve(file);
  let text: string;
  try {
    text = await readFile(source, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new RevgateError('ERR_CONFIG_UNREADABLE', `config file ${source}: cannot be read (${reason})`, [], { cause: error });
  }

  const config = parseConfigText(text, source);
  return { config, source, digest: createHash('sha256').update(text).digest('hex') };
}

/** Parses and validates config text; `source` names the file in messages and anchors relative paths. */
export function parseConfigText(text: string, source: string): Config {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    const details = document.errors.map((error) => `line ${error.linePos?.[0].line ?? '?'}: ${error.message.split('\n')[0]}`);
    throw new RevgateError('ERR_CONFIG_INVALID', `config file ${source}: invalid YAML`, details);
  }

  const raw: unknown = document.toJS();
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const details = result.error.issues.map((issue) => formatIssue(issue, raw));
    throw new RevgateError('ERR_CONFIG_INVALID', `config file ${source}: ${details.length} problem(s)`, details);
  }

  return deepFreeze(resolveFiles(result.data, path.dirname(source)));
}

function resolveFiles(config: Config, folder: string): Config {
  const resolve = (file: string) => path.resolve(folder, file);
  return {
    ...config,
    issuers: config.issuers.map((issuer) =>
      issuer.jwks.file === undefined ? issuer : { ...issuer, jwks: { ...issuer.jwks, file: resolve(issuer.jwks.file) } },
    ),
    revocation: {
      ...config.revocation,
      nats: resolveNatsFiles(config.revocation.nats, resolve),
      trustedResponders: { file: resolve(config.revocation.trustedResponders.file) },
      ...(config.revocation.liftResponders ? { liftResponders: { file: resolve(config.revocation.liftResponders.file) } } : {}),
      ...(config.revocation.snapshot ? { snapshot: { ...config.revocation.snapshot, path: resolve(config.revocation.snapshot.path) } } : {}),
    },
  };
}

/** Resolves every file path of NATS settings against a folder. */
export function resolveNatsFiles(nats: NatsSettings, resolve: (file: string) => string): NatsSettings {
  const file = (value: string | undefined) => (value === undefined ? undefined : resolve(value));
  const tls = nats.tls && { ca: file(nats.tls.ca), cert: file(nats.tls.cert), key: file(nats.tls.key) };
  return {
    ...nats,
    tls,
    passwordFile: file(nats.passwordFile),
    tokenFile: file(nats.tokenFile),
    nkeySeedFile: file(nats.nkeySeedFile),
    credsFile: file(nats.credsFile),
  };
}

/** Formats one schema issue as `path "value": problem`, for example `routes[2].path "admin": ...`. */
function formatIssue(issue: z.core.$ZodIssue, raw: unknown): string {
  const location = formatPath(issue.path);
  const value = valueAt(raw, issue.path);
  const shown = typeof value === 'string' && value.length <= 80 ? ` "${value}"` : typeof value === 'number' ? ` ${value}` : '';
  if (issue.code === 'unrecognized_keys') {
    // Keys are shown shortened and at most five, so that checking a wrong file does not print it.
    const shown = issue.keys.slice(0, 5).map((key) => (key.length > 40 ? `${key.slice(0, 40)}...` : key));
    const more = issue.keys.length > 5 ? ` and ${issue.keys.length - 5} more` : '';
    const keys = shown.map((key) => (location ? `${location}.${key}` : key));
    return `${keys.join(', ')}${more}: unknown field; check the spelling against the configuration reference`;
  }
  if (issue.code === 'invalid_type' && value === undefined) {
    return `${location || 'config'}: missing, expected ${issue.expected}`;
  }
  return `${location || 'config'}${shown}: ${issue.message}`;
}

function formatPath(parts: readonly PropertyKey[]): string {
  return parts.reduce<string>((text, part) => {
    if (typeof part === 'number') return `${text}[${part}]`;
    return text === '' ? String(part) : `${text}.${String(part)}`;
  }, '');
}

function valueAt(raw: unknown, parts: readonly PropertyKey[]): unknown {
  let current = raw;
  for (const part of parts) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[part];
  }
  return current;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
