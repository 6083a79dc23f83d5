/** IP address blocks in CIDR notation, such as `10.0.0.0/8` or `fd00::/8`. */
import { isIP } from 'node:net';

export interface Cidr {
  address: string;
  /** Number of leading bits that must match. */
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/**
 * Parses `ADDRESS/PREFIX`, or a bare address that stands for the one host. Returns undefined for
 * anything else, including an IPv6 zone (`fe80::1%eth0`), which names an interface, not a block.
 */
export function parseCidr(text: string): Cidr | undefined {
  const [address = '', prefixText, extra] = text.split('/');
  if (extra !== undefined || address.includes('%')) return undefined;
  const version = isIP(address);
  if (version === 0) return undefined;

  const family = version === 4 ? 'ipv4' : 'ipv6';
  const maxPrefix = version === 4 ? 32 : 128;
  if (prefixText === undefined) return { address, prefix: maxPrefix, family };
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  return prefix <= maxPrefix ? { address, prefix, family } : undefined;
}
