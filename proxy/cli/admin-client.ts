/** Requests to a running proxy's admin API, with errors that say which URL failed and why. */
import { Option } from 'commander';

import { RevgateError, describeError } from '../errors.js';

export const adminOption = () =>
  new Option('--admin <url>', "base URL of a proxy's admin listener").env('REVGATE_ADMIN').default('http://127.0.0.1:9901');

/** Sends a request to the admin API and returns the parsed JSON body with the status. */
export async function requestAdmin(adminUrl: string, path: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> {
  if (!URL.canParse(adminUrl)) throw new RevgateError('ERR_USAGE', `--admin "${adminUrl}": not a URL`);
  const url = new URL(path, adminUrl);
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    throw new RevgateError('ERR_NATS_UNAVAILABLE', `admin API ${url.origin} unreachable: ${describeError((error as Error).cause ?? error)}; is the proxy running, and is --admin right?`);
  }
  const text = await response.text();
  try {
    return { status: response.status, body: JSON.parse(text) as unknown };
  } catch {
    throw new RevgateError('ERR_NATS_UNAVAILABLE', `admin API ${url.href} answered ${response.status} without JSON; is --admin the admin listener?`);
  }
}
