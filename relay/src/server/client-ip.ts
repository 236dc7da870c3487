// The client's IP for limits (docs/protocol.md#client-ip, R-UPG-8): the socket
// address, or, when that is a trusted proxy, the right-most X-Forwarded-For
// entry that is not itself a trusted proxy (the left-most entry is
// client-controlled: docs/protocol.md#weak-client-ip).
import { BlockList, isIP } from 'node:net';

/** ClientIpResolver maps a socket address and XFF header to the address limits are keyed on. */
export type ClientIpResolver = (remoteAddress: string | undefined, forwardedFor: string | string[] | undefined) => string;

function normalize(addr: string): string {
  const a = addr.trim();
  return a.startsWith('::ffff:') && isIP(a.slice(7)) === 4 ? a.slice(7) : a;
}

/** createClientIpResolver builds a resolver from RELAY_TRUSTED_PROXIES entries (IPs or CIDRs). */
export function createClientIpResolver(trustedProxies: readonly string[]): ClientIpResolver {
  const trusted = new BlockList();
  for (const entry of trustedProxies) {
    const [addr, bits] = entry.split('/');
    if (addr === undefined) continue;
    const family = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) trusted.addAddress(addr, family);
    else trusted.addSubnet(addr, Number(bits), family);
  }
  const isTrusted = (ip: string): boolean => {
    const family = isIP(ip);
    if (family === 0) return false;
    return trusted.check(ip, family === 6 ? 'ipv6' : 'ipv4');
  };
  return (remoteAddress, forwardedFor) => {
    const remote = normalize(remoteAddress ?? 'unknown');
    if (trustedProxies.length === 0 || !isTrusted(remote)) return remote;
    const header = Array.isArray(forwardedFor) ? forwardedFor.join(',') : (forwardedFor ?? '');
    const hops = header
      .split(',')
      .map(normalize)
      .filter((h) => h !== '');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i] as string;
      if (isIP(hop) === 0) return remote; // garbage in the chain: trust only what we saw
      if (!isTrusted(hop)) return hop;
    }
    return hops[0] ?? remote;
  };
}
