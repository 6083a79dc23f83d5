/**
 * The ordered route table. The first route whose path prefix and method list match the request
 * wins. Prefixes are compared without regard to letter case, so that `/ADMIN` cannot slip past a
 * rule written for `/admin` on an upstream that ignores case. A prefix is a plain string prefix:
 * `/admin` also covers `/admin-panel` and `/admin/users`.
 */
import type { RouteConfig } from '../config/schema.js';

export type StalePolicy = 'reject' | 'allow';

export interface Route {
  readonly name: string;
  readonly path: string;
  readonly methods: ReadonlySet<string> | undefined;
  readonly auth: RouteConfig['auth'];
  readonly privileged: boolean;
  readonly scopes: readonly string[];
  /** Applies while staleness exceeds `maxStaleness` (milliseconds). */
  readonly onStale: StalePolicy;
  readonly maxStaleness: number;
  /** Applies before the replica holds any state: no confirmed sync yet and no snapshot loaded. */
  readonly startup: StalePolicy;
}

export class RouteTable {
  private readonly routes: readonly (Route & { readonly prefix: string })[];

  /** `defaultMaxStaleness` (milliseconds) applies to routes that set no `maxStaleness` of their own. */
  constructor(configs: readonly RouteConfig[], defaultMaxStaleness: number) {
    this.routes = configs.map((config) => {
      const onStale = config.onStale ?? (config.privileged ? 'reject' : 'allow');
      return {
        name: config.name ?? config.path,
        path: config.path,
        prefix: config.path.toLowerCase(),
        methods: config.methods ? new Set(expandMethods(config.methods)) : undefined,
        auth: config.auth,
        privileged: config.privileged,
        scopes: config.scopes ?? [],
        onStale,
        maxStaleness: config.maxStaleness ?? defaultMaxStaleness,
        startup: config.startup ?? onStale,
      };
    });
  }

  /** Returns the first route that matches a canonical path and method, if any. */
  match(canonicalPath: string, method: string): Route | undefined {
    const lowerPath = canonicalPath.toLowerCase();
    return this.routes.find(
      (route) => lowerPath.startsWith(route.prefix) && (route.methods === undefined || route.methods.has(method)),
    );
  }
}

/** A route that allows GET also allows HEAD, which HTTP defines as GET without the body. */
function expandMethods(methods: readonly string[]): string[] {
  return methods.includes('GET') && !methods.includes('HEAD') ? [...methods, 'HEAD'] : [...methods];
}
