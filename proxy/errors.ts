/**
 * The project's error type and its closed set of codes.
 *
 * A request that revgate does not forward ends with one of the rejection reasons below. The same
 * reason is sent to the client as `{"error": "<reason>"}`, counted in metrics and written to the
 * access log, so the three always agree. Library errors (jose, undici, NATS) are translated into
 * these codes in one place each, by the library's error code, never by matching messages.
 */

/** Rejection reasons, each with the HTTP status that the client receives. */
export const REJECTIONS = {
  invalid_request: 400,
  invalid_path: 400,
  invalid_host: 400,
  invalid_connection_header: 400,
  token_in_query: 400,
  duplicate_authorization: 400,
  missing_token: 401,
  malformed_token: 401,
  token_too_large: 401,
  unknown_issuer: 401,
  unknown_key: 401,
  algorithm_not_allowed: 401,
  invalid_signature: 401,
  invalid_claims: 401,
  token_expired: 401,
  token_not_yet_valid: 401,
  lifetime_exceeded: 401,
  invalid_claim_value: 401,
  token_revoked: 401,
  insufficient_scope: 403,
  method_not_allowed: 405,
  request_timeout: 408,
  headers_too_large: 431,
  // The client closed the connection before a response; nginx's 499, seen only in logs and metrics.
  client_closed: 499,
  upgrade_not_supported: 501,
  unsupported_transfer_coding: 501,
  upstream_unavailable: 502,
  keys_unavailable: 503,
  revocation_state_stale: 503,
  upstream_timeout: 504,
} as const;

export type RejectionReason = keyof typeof REJECTIONS;

/** Codes for failures outside the request path: configuration, keys, NATS, the command line. */
export type OperationCode =
  | 'ERR_CONFIG_INVALID'
  | 'ERR_CONFIG_UNREADABLE'
  | 'ERR_KEY_INVALID'
  | 'ERR_EVENT_INVALID'
  | 'ERR_NATS_UNAVAILABLE'
  | 'ERR_NOT_STORED'
  | 'ERR_USAGE';

/** An error with a stable code; `details` lists every problem when there are several. */
export class RevgateError extends Error {
  readonly code: OperationCode;
  readonly details: readonly string[];

  constructor(code: OperationCode, message: string, details: readonly string[] = [], options?: ErrorOptions) {
    super(message, options);
    this.name = 'RevgateError';
    this.code = code;
    this.details = details;
  }
}

/** A request rejection raised inside a pipeline stage; the server turns it into a response. */
export class Rejection extends Error {
  readonly reason: RejectionReason;
  readonly status: number;
  /** Extra response headers, such as `Retry-After` or the scope list of `WWW-Authenticate`. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(reason: RejectionReason, headers: Record<string, string> = {}) {
    super(reason);
    this.name = 'Rejection';
    this.reason = reason;
    this.status = REJECTIONS[reason];
    this.headers = headers;
  }
}

export function isRevgateError(value: unknown): value is RevgateError {
  return value instanceof RevgateError;
}

/** Returns a one-line description of any thrown value, for logs and command-line output. */
export function describeError(error: unknown): string {
  if (error instanceof RevgateError) return error.message;
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}
