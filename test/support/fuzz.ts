/**
 * Run counts for the fast-check properties under test/fuzz. `make test` runs each property a few
 * hundred times so that the suite stays fast; `make fuzz` sets FUZZ_RUNS (such as 100000) for a
 * long run. FUZZ_SEED replays the run that a failure report names.
 */
import type { Parameters } from 'fast-check';

/**
 * Returns fast-check parameters: `defaultRuns` runs, or FUZZ_RUNS divided by `cost` when it is set,
 * so that a property that sends real requests gets fewer runs than a pure function.
 */
export function fuzzParameters<T>(defaultRuns: number, cost = 1): Parameters<T> {
  const requested = Number(process.env['FUZZ_RUNS']);
  const numRuns = Number.isInteger(requested) && requested > 0 ? Math.max(1, Math.ceil(requested / cost)) : defaultRuns;
  const seed = Number(process.env['FUZZ_SEED']);
  return Number.isInteger(seed) ? { numRuns, seed } : { numRuns };
}
