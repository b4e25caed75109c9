import { isIP } from 'node:net';

/**
 * Whether binding to `host` keeps a listener on this machine: `localhost`, 127.0.0.0/8, `::1`
 * (and its IPv4-mapped form). Wildcards (`0.0.0.0`, `::`) and every other address do not.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || h.startsWith('::ffff:127.');
  return false;
}
