/**
 * What a revocation selects, and the facts derived from it: the selector value it matches on,
 * whether it lasts until lifted, and how to describe it to a person.
 *
 * | kind    | a token is rejected when                                  | until                          |
 * |---------|-----------------------------------------------------------|--------------------------------|
 * | token   | its (iss, jti) match, or (iss, SHA-256 of header.payload) | the token's exp                |
 * | subject | its (iss, sub) match and iat <= before                    | before + lifetime, or lifted   |
 * | session | its (iss, sid) match and iat <= before                    | before + lifetime, or lifted   |
 * | client  | its (iss, client_id, else azp) match and iat <= before    | before + lifetime, or lifted   |
 * | key     | its (iss, kid) match                                      | lifted                         |
 * | issuer  | its iss matches and iat <= before                         | before + lifetime              |
 * | version | its (iss, sub) match and its version claim < minVersion   | lifted or superseded           |
 *
 * `before` is absent on subject, session and client revocations that last until lifted.
 */

export type RevocationTarget =
  | { kind: 'token'; iss: string; jti: string; expiresAt?: number }
  | { kind: 'token'; iss: string; sha256: string; expiresAt?: number }
  | { kind: 'subject'; iss: string; sub: string; before?: number }
  | { kind: 'session'; iss: string; sid: string; before?: number }
  | { kind: 'client'; iss: string; clientId: string; before?: number }
  | { kind: 'key'; iss: string; kid: string }
  | { kind: 'issuer'; iss: string; before: number }
  | { kind: 'version'; iss: string; sub: string; minVersion: number };

export type RevocationKind = RevocationTarget['kind'];

export const REVOCATION_KINDS: readonly RevocationKind[] = ['token', 'subject', 'session', 'client', 'key', 'issuer', 'version'];

/** The value a revocation matches besides the issuer, prefixed where one kind has two forms. */
export function selectorValue(target: RevocationTarget): string {
  switch (target.kind) {
    case 'token':
      return 'jti' in target ? `jti:${target.jti}` : `sha256:${target.sha256}`;
    case 'subject':
    case 'version':
      return target.sub;
    case 'session':
      return target.sid;
    case 'client':
      return target.clientId;
    case 'key':
      return target.kid;
    case 'issuer':
      return '';
  }
}

/** True for revocations that stay until a lift removes them, which live in their own stream. */
export function lastsUntilLifted(target: RevocationTarget): boolean {
  switch (target.kind) {
    case 'key':
    case 'version':
      return true;
    case 'subject':
    case 'session':
    case 'client':
      return target.before === undefined;
    default:
      return false;
  }
}

/** Describes a target for command-line output, without any token. */
export function describeTarget(target: RevocationTarget): string {
  const until = (before: number | undefined) =>
    before === undefined ? 'until lifted' : `issued at or before ${new Date(before * 1000).toISOString()}`;
  switch (target.kind) {
    case 'token':
      return 'jti' in target ? `token ${target.iss} jti ${target.jti}` : `token ${target.iss} without jti (signing input sha256 ${target.sha256})`;
    case 'subject':
      return `every token of subject ${target.sub} of ${target.iss} ${until(target.before)}`;
    case 'session':
      return `every token of session ${target.sid} of ${target.iss} ${until(target.before)}`;
    case 'client':
      return `every token of client ${target.clientId} of ${target.iss} ${until(target.before)}`;
    case 'key':
      return `every token of ${target.iss} signed with key ${target.kid}, until lifted`;
    case 'issuer':
      return `every token of ${target.iss} ${until(target.before)}`;
    case 'version':
      return `tokens of subject ${target.sub} of ${target.iss} with a version below ${target.minVersion}, until lifted`;
  }
}
