/**
 * Worker of the denylist benchmark, run by run.ts in its own process with `--expose-gc`.
 *
 * For each denylist size it times `Denylist.match()` on a token that no entry revokes. That is the
 * most expensive case, because every selector is looked up. The baseline is a loop of one
 * `Map.get` per iteration on a map with as many keys. Samples of the two loops alternate, so that
 * a noisy neighbour slows both. Prints one JSON line: nanoseconds per operation of every sample.
 *
 * Usage: denylist-lookup.js SIZES SAMPLES MATCH_ITERATIONS, such as `0,10000,1000000 5 200000`.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { decodeJwt, decodeProtectedHeader } from 'jose';

import type { VerifiedToken } from '../../proxy/auth/verify.js';
import { Denylist, entryKey } from '../../proxy/revocation/denylist.js';
import type { RevocationTarget } from '../../proxy/revocation/target.js';
import { ISSUER, TestIssuer } from '../support/issuer.js';
import { MAX_TOKEN_LIFETIME_SECONDS } from './servers.js';

/** Calls of Map.get per call of match() in a sample; one Map.get takes a small fraction of one match(). */
const MAP_GET_ITERATION_FACTOR = 10;
/** Distinct keys the baseline looks up in turn, so that no lookup is hoisted out of the loop. */
const BASELINE_KEYS = 1024;

export interface SizeResult {
  entries: number;
  matchNs: number[];
  mapGetNs: number[];
  /** Heap growth per entry while the denylist was filled, after a full GC; null for 0 entries. */
  heapBytesPerEntry: number | null;
}

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run this worker with node --expose-gc');

/** Returns the target of the i-th revocation: 8 in 10 tokens by jti, 1 subject and 1 session, as in the streams. */
function revokedTarget(index: number, issuedAt: number): RevocationTarget {
  const kind = index % 10;
  if (kind === 8) return { kind: 'subject', iss: ISSUER, sub: `revoked-user-${index}`, before: issuedAt };
  if (kind === 9) return { kind: 'session', iss: ISSUER, sid: `revoked-session-${index}`, before: issuedAt };
  return { kind: 'token', iss: ISSUER, jti: `revoked-token-${index}` };
}

/** Signs a real ES256 token with every claim match() reads (jti, sub, sid, client_id, kid) and returns it as the verifier would. */
async function verifiedToken(): Promise<VerifiedToken> {
  const folder = await mkdtemp(path.join(tmpdir(), 'revgate-bench-'));
  try {
    const issuer = await TestIssuer.create(folder);
    const token = await issuer.token({ claims: { sid: 'session-ok', client_id: 'client-ok' } });
    const signingInput = token.slice(0, token.lastIndexOf('.'));
    return {
      iss: ISSUER,
      kid: decodeProtectedHeader(token).kid,
      claims: decodeJwt(token),
      signingInputHash: createHash('sha256').update(signingInput).digest('base64url'),
    };
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

function fill(denylist: Denylist, entries: number, issuedAt: number): void {
  for (let index = 0; index < entries; index++) {
    const result = denylist.apply({ id: `bench-${index}`, target: revokedTarget(index, issuedAt), issuedAt, signedBy: 'bench', actor: undefined, reason: 'benchmark' });
    if (result !== 'applied') throw new Error(`revocation ${index} was not applied: ${result}`);
  }
}

function timeMatch(denylist: Denylist, token: VerifiedToken, iterations: number): number {
  let hits = 0;
  const started = process.hrtime.bigint();
  for (let index = 0; index < iterations; index++) {
    if (denylist.match(token) !== undefined) hits++;
  }
  const elapsed = Number(process.hrtime.bigint() - started);
  if (hits !== 0) throw new Error(`match() found ${hits} entries for a token that is not revoked`);
  return elapsed / iterations;
}

function timeMapGet(map: Map<string, boolean>, missingKeys: string[], iterations: number): number {
  let hits = 0;
  const started = process.hrtime.bigint();
  for (let index = 0; index < iterations; index++) {
    if (map.get(missingKeys[index % BASELINE_KEYS]!) !== undefined) hits++;
  }
  const elapsed = Number(process.hrtime.bigint() - started);
  if (hits !== 0) throw new Error(`Map.get found ${hits} keys that were never added`);
  return elapsed / iterations;
}

async function main(): Promise<void> {
  const [sizesArgument = '0,10000,1000000', samplesArgument = '7', iterationsArgument = '300000'] = process.argv.slice(2);
  const sizes = sizesArgument.split(',').map(Number);
  const samples = Number(samplesArgument);
  const matchIterations = Number(iterationsArgument);
  const token = await verifiedToken();
  const issuedAt = Math.floor(Date.now() / 1000);
  const bounds = () => ({ maxLifetime: MAX_TOKEN_LIFETIME_SECONDS, tolerance: 30 });
  const missingKeys = Array.from({ length: BASELINE_KEYS }, (_, index) => entryKey({ kind: 'token', iss: ISSUER, jti: `not-revoked-${index}` }));

  const results: SizeResult[] = [];
  for (const entries of sizes) {
    gc!();
    const heapBefore = process.memoryUsage().heapUsed;
    const denylist = new Denylist(bounds);
    fill(denylist, entries, issuedAt);
    gc!();
    const heapBytesPerEntry = entries === 0 ? null : (process.memoryUsage().heapUsed - heapBefore) / entries;

    const map = new Map<string, boolean>();
    for (let index = 0; index < entries; index++) map.set(entryKey(revokedTarget(index, issuedAt)), true);

    // Warm-up, so that both loops run optimized code before the first sample.
    timeMatch(denylist, token, Math.ceil(matchIterations / 10));
    timeMapGet(map, missingKeys, Math.ceil((matchIterations * MAP_GET_ITERATION_FACTOR) / 10));

    const result: SizeResult = { entries, matchNs: [], mapGetNs: [], heapBytesPerEntry };
    for (let sample = 0; sample < samples; sample++) {
      result.mapGetNs.push(timeMapGet(map, missingKeys, matchIterations * MAP_GET_ITERATION_FACTOR));
      result.matchNs.push(timeMatch(denylist, token, matchIterations));
    }
    results.push(result);
  }
  process.stdout.write(`${JSON.stringify({ sizes: results })}\n`);
}

await main();
