/**
 * The one canonical form of a request path. Routes are matched on it and the upstream receives
 * exactly it, so the proxy and the upstream cannot disagree about which path was requested.
 *
 * Rules, in order:
 * - The target must be in origin form (`/path?query`); absolute-form, authority-form and `*` are rejected.
 * - The query string is split off at the first `?` and forwarded unchanged; it never takes part in matching.
 * - Raw backslashes, `#`, control characters and non-ASCII bytes are rejected.
 * - Percent-escapes must be valid. Escapes of unreserved characters (RFC 3986 section 2.3) are decoded,
 *   except `%2E`, which is rejected together with the escapes of `/`, `\` and NUL, and with `%25`
 *   followed by two hex digits (a double-encoded escape). Other escapes stay encoded, in upper case.
 * - Repeated slashes collapse to one. `.` and `..` segments are resolved, and `..` above the root is rejected.
 * - `;`, raw or as `%3B`, is rejected anywhere in the path. Servlet containers treat `;x` as a path parameter and drop
 *   it (so `/..;/admin` becomes `/../admin`), while the proxy would match it as part of a segment.
 */

export interface CanonicalTarget {
  /** The canonical path; what routes match and what the upstream receives. */
  path: string;
  /** Everything from the first `?` on, or the empty string. */
  query: string;
}

const UNRESERVED = /^[A-Za-z0-9\-_~]$/;
const FORBIDDEN_ESCAPES = new Set(['2F', '5C', '00', '2E', '3B']);
const RAW_FORBIDDEN = /[\\#;\x00-\x20\x7f-\uffff]/;
const DOUBLE_ENCODED = /%25[0-9A-Fa-f]{2}/;

/** Returns the canonical target, or undefined when the path is ambiguous and must be rejected. */
export function canonicalizeTarget(target: string): CanonicalTarget | undefined {
  if (!target.startsWith('/')) return undefined;

  const queryStart = target.indexOf('?');
  const rawPath = queryStart === -1 ? target : target.slice(0, queryStart);
  const query = queryStart === -1 ? '' : target.slice(queryStart);
  if (RAW_FORBIDDEN.test(rawPath)) return undefined;

  const decoded = normalizeEscapes(rawPath);
  // Checked after decoding too, because `%25%32%65` decodes to the double-encoded `%252e`.
  if (decoded === undefined || DOUBLE_ENCODED.test(decoded)) return undefined;

  const path = resolveSegments(decoded);
  return path === undefined ? undefined : { path, query };
}

function normalizeEscapes(rawPath: string): string | undefined {
  if (!rawPath.includes('%')) return rawPath;

  let output = '';
  for (let index = 0; index < rawPath.length; index++) {
    const character = rawPath[index];
    if (character !== '%') {
      output += character;
      continue;
    }
    const hex = rawPath.slice(index + 1, index + 3).toUpperCase();
    if (!/^[0-9A-F]{2}$/.test(hex) || FORBIDDEN_ESCAPES.has(hex)) return undefined;
    if (hex === '25' && /^[0-9A-Fa-f]{2}$/.test(rawPath.slice(index + 3, index + 5))) return undefined;

    const decodedCharacter = String.fromCharCode(Number.parseInt(hex, 16));
    output += UNRESERVED.test(decodedCharacter) ? decodedCharacter : `%${hex}`;
    index += 2;
  }
  return output;
}

function resolveSegments(path: string): string | undefined {
  const segments: string[] = [];
  const parts = path.split('/').slice(1);
  let trailingSlash = false;

  for (const segment of parts) {
    trailingSlash = false;
    if (segment === '') {
      trailingSlash = true;
      continue;
    }
    if (segment === '.') {
      trailingSlash = true;
      continue;
    }
    if (segment === '..') {
      if (segments.length === 0) return undefined;
      segments.pop();
      trailingSlash = true;
      continue;
    }
    segments.push(segment);
  }

  const joined = `/${segments.join('/')}`;
  return trailingSlash && segments.length > 0 ? `${joined}/` : joined;
}
