/**
 * The peers whose `X-Forwarded-*` headers the proxy relays: `server.trustedProxies`, such as the
 * load balancer in front of it. Every other peer could write those headers itself.
 */
import { BlockList } from 'node:net';

import type { Cidr } from '../config/cidr.js';

export class TrustedProxies {
  private readonly blocks = new BlockList();
  private readonly empty: boolean;

  constructor(cidrs: readonly Cidr[]) {
    for (const { address, prefix, family } of cidrs) this.blocks.addSubnet(address, prefix, family);
    this.empty = cidrs.length === 0;
  }

  /** True when the peer address lies in a configured block; an IPv4-mapped IPv6 address matches IPv4 blocks. */
  includes(address: string | undefined): boolean {
    if (this.empty || address === undefined) return false;
    return this.blocks.check(address, address.includes(':') ? 'ipv6' : 'ipv4');
  }
}
