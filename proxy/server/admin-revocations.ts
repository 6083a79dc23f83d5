/**
 * The admin API for responders: `GET /revocations` lists active entries (paginated, filterable by
 * kind), `GET /revocations/<id>` returns one, and `POST /explain` returns whether a token would be
 * accepted now on a route, and if not, why. Responses show selectors (jti, sub, sid, client, kid)
 * and audit fields, never a token.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { DenylistEntry, Denylist } from '../revocation/denylist.js';
import { lastsUntilLifted, REVOCATION_KINDS, type RevocationKind } from '../revocation/target.js';
import type { Explanation } from './pipeline.js';

export interface RevocationApiDependencies {
  denylist: Denylist;
  explain: (token: string, method: string, path: string) => Promise<Explanation>;
}

const MAX_PAGE = 1000;
const DEFAULT_PAGE = 100;
/** Largest /explain request body; a token larger than the proxy accepts is rejected anyway. */
const MAX_EXPLAIN_BYTES = 65_536;

/** Handles the request when its path belongs to this API; returns false otherwise. */
export async function handleRevocationApi(
  deps: RevocationApiDependencies,
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
): Promise<boolean> {
  const method = request.method ?? '';
  if (url.pathname === '/revocations' && method === 'GET') {
    listRevocations(deps.denylist, url.searchParams, response);
    return true;
  }
  if (url.pathname.startsWith('/revocations/') && method === 'GET') {
    const entry = deps.denylist.get(decodeURIComponent(url.pathname.slice('/revocations/'.length)));
    if (entry) sendJson(response, 200, revocationView(entry));
    else sendJson(response, 404, { error: 'revocation_not_found' });
    return true;
  }
  if (url.pathname === '/explain' && method === 'POST') {
    await explain(deps, request, response);
    return true;
  }
  return false;
}

/** Returns an entry as the API shows it: the target, its bounds and the audit fields. */
export function revocationView(entry: DenylistEntry): Record<string, unknown> {
  return {
    id: entry.id,
    kind: entry.target.kind,
    target: entry.target,
    untilLifted: lastsUntilLifted(entry.target),
    issuedAt: new Date(entry.issuedAt * 1000).toISOString(),
    expiresAt: Number.isFinite(entry.dropAfter) ? new Date(entry.dropAfter * 1000).toISOString() : null,
    signedBy: entry.signedBy,
    actor: entry.actor ?? null,
    reason: entry.reason,
  };
}

/** Pages by revocation id (`after` is the last id of the previous page), so pages stay stable while entries change. */
function listRevocations(denylist: Denylist, query: URLSearchParams, response: ServerResponse): void {
  const kind = query.get('kind');
  if (kind !== null && !REVOCATION_KINDS.includes(kind as RevocationKind)) {
    sendJson(response, 400, { error: 'invalid_kind', kinds: REVOCATION_KINDS });
    return;
  }
  const limit = Number(query.get('limit') ?? DEFAULT_PAGE);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    sendJson(response, 400, { error: 'invalid_limit', max: MAX_PAGE });
    return;
  }
  const after = query.get('after') ?? '';

  const matching = [...denylist.values()].filter((entry) => (kind === null || entry.target.kind === kind) && entry.id > after);
  matching.sort((first, second) => (first.id < second.id ? -1 : 1));
  const page = matching.slice(0, limit);
  const next = matching.length > limit ? page.at(-1)?.id : undefined;
  sendJson(response, 200, { items: page.map(revocationView), next: next ?? null, total: matching.length });
}

async function explain(deps: RevocationApiDependencies, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const body = await readBody(request);
  if (body === undefined) {
    sendJson(response, 413, { error: 'request_too_large', detail: 'send {"token", "path", "method"} of at most 64 KiB' });
    return;
  }
  let input: { token?: unknown; path?: unknown; method?: unknown };
  try {
    input = JSON.parse(body) as typeof input;
  } catch {
    input = {};
  }
  if (typeof input.token !== 'string') {
    sendJson(response, 400, { error: 'invalid_request', detail: 'send {"token": "...", "path": "/", "method": "GET"} of at most 64 KiB' });
    return;
  }
  const path = typeof input.path === 'string' ? input.path : '/';
  const method = typeof input.method === 'string' ? input.method.toUpperCase() : 'GET';
  const result = await deps.explain(input.token, method, path);
  sendJson(response, 200, { ...result, revocation: result.revocation ? revocationView(result.revocation) : undefined });
}

function readBody(request: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_EXPLAIN_BYTES) {
        // Stop buffering; the rest of the body is read and dropped so that the response can be sent.
        request.removeAllListeners('data');
        request.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', () => resolve(undefined));
  });
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}
