// Host and address predicates shared by the config rules and the platform
// link: what counts as local, IP/CIDR entries, and peer-link URLs. Pure.
import { isIP } from 'node:net';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** isLoopbackHost: the bind addresses that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host.toLowerCase());
}

/** isLocalHost: loopback names and the reserved *.test domain count as local. */
export function isLocalHost(host: string | undefined): boolean {
  if (host === undefined) return false;
  const h = host.toLowerCase();
  return LOOPBACK_HOSTS.has(h) || h.endsWith('.test');
}

/** hostOf is a URL's lower-case host name, or undefined for a URL that does not parse. */
export function hostOf(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

/** isIpOrCidr accepts an IPv4/IPv6 address or a CIDR block of one. */
export function isIpOrCidr(entry: string): boolean {
  const [addr, bits, extra] = entry.split('/');
  if (extra !== undefined || addr === undefined) return false;
  const family = isIP(addr);
  if (family === 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return Number.isInteger(n) && n >= 0 && n <= (family === 4 ? 32 : 128) && /^\d+$/.test(bits);
}

/** peerLinkUrl is the ws:// URL peers dial for host and port (IPv6 bracketed); undefined for a host that is not one. */
export function peerLinkUrl(host: string, port: number): string | undefined {
  const bare = host.trim().replace(/^\[(.*)\]$/, '$1');
  const version = isIP(bare);
  if (version === 0 && !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(bare)) return undefined;
  return `ws://${version === 6 ? `[${bare}]` : bare}:${port}`;
}
