/**
 * The configuration schema. Every field is validated here once, at start-up or by
 * `revgate config check`; the rest of the code receives the parsed, frozen result and never
 * re-checks it. Durations are strings with units and come out as milliseconds.
 */
import { isIP } from 'node:net';
import { z } from 'zod';

import { parseCidr } from './cidr.js';
import { parseDuration } from './duration.js';

const DURATION_HINT = 'invalid duration, expected a number with a unit such as 500ms, 5s, 1h';

const requiredDuration = () =>
  z.string().transform((text, ctx) => {
    const milliseconds = parseDuration(text);
    if (milliseconds === undefined) {
      ctx.addIssue({ code: 'custom', message: DURATION_HINT });
      return z.NEVER;
    }
    return milliseconds;
  });

/** A duration in milliseconds, written with a unit; `fallback` applies when the field is absent. */
const duration = (fallback: string) => requiredDuration().prefault(fallback);

const POSITIVE = { message: 'must be longer than 0' };
const requiredPositiveDuration = () => requiredDuration().refine((milliseconds) => milliseconds > 0, POSITIVE);
const positiveDuration = (fallback: string) => requiredPositiveDuration().prefault(fallback);

/** A `host:port` pair; IPv6 hosts are bracketed (`[::1]:8080`). Port 0 picks a free port. */
const listenAddress = z.string().transform((text, ctx) => {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || port > 65535) {
    ctx.addIssue({ code: 'custom', message: 'expected host:port, such as 127.0.0.1:8080 or [::1]:8080' });
    return z.NEVER;
  }
  return { host: match[1] ?? match[2] ?? '', port };
});

const cidr = z.string().transform((text, ctx) => {
  const parsed = parseCidr(text);
  if (!parsed) {
    ctx.addIssue({ code: 'custom', message: 'must be an IP address or a CIDR block, such as 10.0.0.0/8 or fd00::/8' });
    return z.NEVER;
  }
  return parsed;
});

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** True for hosts that never leave the machine, where plain http exposes nothing. */
export function isLoopbackHost(hostname: string): boolean {
  if (LOOPBACK_HOSTS.has(hostname)) return true;
  return isIP(hostname) === 4 && hostname.startsWith('127.');
}

const jwksUrl = z.string().refine(
  (text) => {
    if (!URL.canParse(text)) return false;
    const url = new URL(text);
    return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
  },
  { message: 'must be an https URL (plain http is accepted only for loopback hosts)' },
);

/**
 * Signature algorithms an issuer may allow. HMAC (HS*) is absent on purpose: verification keys
 * come from a JWKS, which is public, and a shared secret published there would let anyone mint tokens.
 */
export const ASYMMETRIC_ALGORITHMS = [
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519',
] as const;

const fileReference = z.object({ file: z.string().min(1) }).strict();

const issuerSchema = z
  .object({
    issuer: z.string().min(1),
    audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    jwks: z
      .object({ file: z.string().min(1).optional(), url: jwksUrl.optional(), cooldown: duration('30s'), timeout: duration('5s') })
      .strict()
      .refine((jwks) => (jwks.file === undefined) !== (jwks.url === undefined), { message: 'must have exactly one of file or url' }),
    algorithms: z.array(z.enum(ASYMMETRIC_ALGORITHMS)).min(1),
    maxTokenLifetime: requiredPositiveDuration(),
    clockTolerance: duration('30s'),
    /** Required `typ` header, such as `at+jwt` (RFC 9068); unset means any `typ` is accepted. */
    typ: z.string().min(1).optional(),
  })
  .strict();

const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/** Headers that an identity header may not replace, because the proxy or HTTP framing owns them. */
const RESERVED_HEADERS = new Set([
  'authorization', 'host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade',
  'te', 'trailer', 'proxy-authorization', 'proxy-authenticate', 'proxy-connection', 'cookie', 'expect',
]);

const identityHeaderName = z
  .string()
  .regex(HEADER_NAME, { message: 'must be a valid HTTP header name' })
  .refine((name) => !RESERVED_HEADERS.has(name.toLowerCase()) && !name.toLowerCase().startsWith('x-forwarded-'), {
    message: 'names a header that the proxy or HTTP itself controls; choose a name such as X-Auth-Subject',
  });

const issuersSchema = z
  .array(issuerSchema)
  .min(1)
  .superRefine((issuers, ctx) => {
    const seen = new Set<string>();
    issuers.forEach((issuer, index) => {
      if (seen.has(issuer.issuer)) ctx.addIssue({ code: 'custom', path: [index, 'issuer'], message: 'is configured twice; each issuer must appear once' });
      seen.add(issuer.issuer);
    });
  });

/** Claim-to-header map; two claims may not share a header, compared as the proxy strips them. */
const identityHeadersSchema = z
  .record(z.string().regex(/^[A-Za-z0-9_.:-]+$/, { message: 'must be a claim name' }), identityHeaderName)
  .default({ sub: 'X-Auth-Subject', scope: 'X-Auth-Scopes', iss: 'X-Auth-Issuer' })
  .superRefine((headers, ctx) => {
    const seen = new Map<string, string>();
    for (const [claim, header] of Object.entries(headers)) {
      const normalized = header.toLowerCase().replaceAll('_', '-');
      const previous = seen.get(normalized);
      if (previous !== undefined) ctx.addIssue({ code: 'custom', path: [claim], message: `uses the same header as claim "${previous}"` });
      seen.set(normalized, claim);
    }
  });

const routeSchema = z
  .object({
    /** Label used in logs and metrics; defaults to the path. */
    name: z.string().regex(/^[A-Za-z0-9_.:/-]{1,64}$/, { message: 'must be 1-64 letters, digits or _ . : / -' }).optional(),
    path: z
      .string()
      .regex(/^\/[A-Za-z0-9\-._~!$&'()*+,=:@/]*$/, {
        message: 'must start with "/" and contain only unescaped path characters (no "%", "?", "#", ";" or "\\")',
      })
      .refine((path) => !/\/\.{1,2}(\/|$)|\/\//.test(path), { message: 'must not contain "." or ".." segments or "//"' }),
    methods: z.array(z.string().regex(/^[A-Z]+$/, { message: 'must be an upper-case HTTP method' })).min(1).optional(),
    auth: z.enum(['required', 'optional', 'none']).default('required'),
    privileged: z.boolean().default(false),
    /** Policy while the replica is stale: `reject` with 503 or `allow`. Defaults to reject on privileged routes. */
    onStale: z.enum(['reject', 'allow']).optional(),
    /** Staleness above which `onStale` applies; defaults to `revocation.maxStaleness`. */
    maxStaleness: requiredPositiveDuration().optional(),
    /** Policy before the first sync when no snapshot was loaded; defaults to the `onStale` value. */
    startup: z.enum(['reject', 'allow']).optional(),
    scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, { message: 'must be a scope token (RFC 6749 section 3.3)' })).min(1).optional(),
  })
  .strict()
  .superRefine((route, ctx) => {
    if (route.privileged && route.onStale === 'allow') {
      ctx.addIssue({ code: 'custom', path: ['onStale'], message: 'cannot be "allow" on a privileged route; set privileged: false instead' });
    }
    if (route.privileged && route.auth !== 'required') {
      ctx.addIssue({ code: 'custom', path: ['auth'], message: 'must be "required" on a privileged route' });
    }
    if (route.scopes && route.auth === 'none') {
      ctx.addIssue({ code: 'custom', path: ['scopes'], message: 'cannot be checked on a route with auth "none"' });
    }
  });

/** Every request needs a policy, so the table must end in a route that matches everything. */
const routesSchema = z
  .array(routeSchema)
  .min(1)
  .superRefine((routes, ctx) => {
    if (!routes.some((route) => route.path === '/' && route.methods === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'must include a catch-all route (path "/" without methods) so that every request has a policy' });
    }
    routes.forEach((route, index) => {
      const shadow = routes.slice(0, index).findIndex((earlier) => covers(earlier, route));
      if (shadow !== -1) {
        ctx.addIssue({ code: 'custom', path: [index, 'path'], message: `is unreachable: routes[${shadow}] matches every request it would; move it earlier` });
      }
    });
  });

/** True when every request that `later` matches is matched by `earlier` first. */
function covers(earlier: z.output<typeof routeSchema>, later: z.output<typeof routeSchema>): boolean {
  if (!later.path.toLowerCase().startsWith(earlier.path.toLowerCase())) return false;
  if (earlier.methods === undefined) return true;
  return later.methods !== undefined && later.methods.every((method) => earlier.methods!.includes(method));
}

const natsUrl = z.string().refine((text) => URL.canParse(text) && ['nats:', 'tls:'].includes(new URL(text).protocol), {
  message: 'must be a nats:// or tls:// URL',
});

/** NATS connection settings; secrets are read from files so that the config itself contains none. */
export const natsSchema = z
  .object({
    servers: z.array(natsUrl).min(1).default(['nats://127.0.0.1:4222']),
    /** Connection name shown by the NATS server's monitoring. */
    name: z.string().min(1).default('revgate'),
    reconnectWait: positiveDuration('1s'),
    tls: z
      .object({ ca: z.string().min(1).optional(), cert: z.string().min(1).optional(), key: z.string().min(1).optional() })
      .strict()
      .refine((tls) => (tls.cert === undefined) === (tls.key === undefined), { message: 'cert and key must be given together' })
      .optional(),
    user: z.string().min(1).optional(),
    passwordFile: z.string().min(1).optional(),
    tokenFile: z.string().min(1).optional(),
    nkeySeedFile: z.string().min(1).optional(),
    credsFile: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((nats, ctx) => {
    const methods = [nats.user !== undefined, nats.tokenFile !== undefined, nats.nkeySeedFile !== undefined, nats.credsFile !== undefined];
    if (methods.filter(Boolean).length > 1) {
      ctx.addIssue({ code: 'custom', message: 'choose one of user/passwordFile, tokenFile, nkeySeedFile or credsFile' });
    }
    if ((nats.user === undefined) !== (nats.passwordFile === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['passwordFile'], message: 'user and passwordFile must be given together' });
    }
  });

const revocationSchema = z
  .object({
    nats: natsSchema.prefault({}),
    // The second stream appends "_UNTIL_LIFTED" (13 characters) within JetStream's limit for names.
    stream: z.string().regex(/^[A-Za-z0-9_-]{1,48}$/, { message: 'must be 1-48 letters, digits, _ or -' }).default('REVGATE'),
    trustedResponders: fileReference,
    /** JWKS of the responder keys that may also lift revocations; without it, lifts are rejected. */
    liftResponders: fileReference.optional(),
    /** Claim that carries the token version for minimum-version revocations. */
    versionClaim: z.string().regex(/^[A-Za-z0-9_.:-]+$/, { message: 'must be a claim name' }).default('ver'),
    /** Default staleness limit of routes that reject when stale. */
    maxStaleness: positiveDuration('5s'),
    probeInterval: positiveDuration('1s'),
    pruneInterval: positiveDuration('30s'),
    snapshot: z.object({ path: z.string().min(1), interval: positiveDuration('10s') }).strict().optional(),
    readiness: z
      .object({
        /** Also report not ready while staleness exceeds `maxStaleness`, taking the pod out of rotation. */
        failWhenStale: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .refine((revocation) => revocation.probeInterval < revocation.maxStaleness, {
    path: ['probeInterval'],
    message: 'must be shorter than maxStaleness, or privileged routes would fail between two probes of a healthy stream',
  });

export const configSchema = z
  .object({
    listen: listenAddress.prefault('127.0.0.1:8080'),
    admin: listenAddress.prefault('127.0.0.1:9901'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    logging: z
      .object({
        /** Share of allowed requests that get an access-log line; rejected and failed requests always get one. */
        accessLogSampleRate: z.number().min(0, { message: 'must be between 0 and 1' }).max(1, { message: 'must be between 0 and 1' }).default(1),
      })
      .strict()
      .prefault({}),
    /** Accept `POST /reload` on the admin listener; SIGHUP reloads either way. */
    adminReload: z.boolean().default(false),
    server: z
      .object({
        headersTimeout: duration('10s'),
        requestTimeout: duration('5m'),
        keepAliveTimeout: duration('5s'),
        maxHeaderSize: z.number().int().min(1024).max(65536).default(16384),
        maxTokenBytes: z.number().int().min(256).max(65536).default(8192),
        /** Time that in-flight requests get to finish after SIGTERM before their connections are cut. */
        drainTimeout: duration('20s'),
        /** Pause between turning readiness off and closing the listener, so load balancers stop sending first. */
        shutdownDelay: duration('0s'),
        /** Open client connections above which Node closes new ones at once; unset means no limit. */
        maxConnections: z.number().int().min(1).optional(),
        /** Peers whose X-Forwarded-* headers are relayed, such as the load balancer in front. */
        trustedProxies: z.array(cidr).default([]),
      })
      .strict()
      .prefault({}),
    upstream: z
      .object({
        url: z.string().refine((text) => URL.canParse(text) && ['http:', 'https:'].includes(new URL(text).protocol), {
          message: 'must be an http:// or https:// URL',
        }).refine((text) => !URL.canParse(text) || ['/', ''].includes(new URL(text).pathname), {
          message: 'must be an origin without a path, such as http://127.0.0.1:3000',
        }),
        connectTimeout: duration('5s'),
        headersTimeout: duration('30s'),
        bodyTimeout: duration('5m'),
        connections: z.number().int().min(1).max(10_000).default(128),
        keepAliveTimeout: duration('4s'),
      })
      .strict(),
    issuers: issuersSchema,
    identityHeaders: identityHeadersSchema,
    routes: routesSchema,
    revocation: revocationSchema,
  })
  .strict();

type RawConfig = z.output<typeof configSchema>;

export type Duration = number;
export type Config = Readonly<RawConfig>;
export type IssuerConfig = RawConfig['issuers'][number];
export type RouteConfig = RawConfig['routes'][number];
export type RevocationConfig = RawConfig['revocation'];
export type ListenAddress = RawConfig['listen'];
export type NatsSettings = RawConfig['revocation']['nats'];
