/**
 * DL-R03: which resolved addresses a download may connect to. Loopback, private (RFC 1918, ULA),
 * link-local, CGNAT, multicast, unspecified, reserved and documentation ranges, and every IPv4-mapped,
 * IPv4-compatible, NAT64 or 6to4 form of them are refused; only the exempt hosts of DL-R01 skip this.
 */
import { BlockList, isIP } from 'node:net';

// Two lists: one BlockList treats IPv4 rules and IPv4-mapped IPv6 rules as the same space.
const blocked4 = new BlockList();
const blocked6 = new BlockList();
const V4: Array<[string, number]> = [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // CGNAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // TEST-NET-1
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // TEST-NET-2
  ['203.0.113.0', 24], // TEST-NET-3
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
];
const V6: Array<[string, number]> = [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['::', 96], // IPv4-compatible (deprecated)
  ['::ffff:0:0', 96], // IPv4-mapped
  ['::ffff:0:0:0', 96], // IPv4-translated
  ['64:ff9b::', 96], // NAT64
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard
  ['2001::', 32], // Teredo
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
];
for (const [address, prefix] of V4) blocked4.addSubnet(address, prefix, 'ipv4');
for (const [address, prefix] of V6) blocked6.addSubnet(address, prefix, 'ipv6');

/** True when a download may connect to this address (a public unicast address). */
export function isPublicAddress(address: string): boolean {
  const version = isIP(address);
  if (version === 4) return !blocked4.check(address, 'ipv4');
  if (version === 6) return !blocked6.check(address, 'ipv6');
  return false;
}
