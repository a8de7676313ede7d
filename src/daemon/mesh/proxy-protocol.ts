import net from 'node:net';

/** The 12-byte signature that starts every PROXY protocol v2 header. */
export const PROXY_V2_SIGNATURE = Buffer.from([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
]);

export interface ProxyEndpoints {
  readonly sourceAddress: string;
  readonly sourcePort: number;
  readonly destAddress: string;
  readonly destPort: number;
}

/** "::ffff:1.2.3.4" → "1.2.3.4"; other addresses unchanged. */
function unmap(addr: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr);
  return m?.[1] ?? addr;
}

function ipv4Bytes(addr: string): Buffer {
  return Buffer.from(addr.split('.').map(Number));
}

function ipv6Bytes(addr: string): Buffer {
  const out = Buffer.alloc(16);
  let a = addr;
  // An embedded IPv4 tail ("::ffff:1.2.3.4" forms that unmap left alone, e.g. "64:ff9b::1.2.3.4").
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(a)?.[1];
  if (v4) {
    const b = ipv4Bytes(v4);
    a =
      a.slice(0, -v4.length) +
      `${b.readUInt16BE(0).toString(16)}:${b.readUInt16BE(2).toString(16)}`;
  }
  const [head = '', tail] = a.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  groups.slice(0, 8).forEach((g, i) => {
    out.writeUInt16BE(parseInt(g || '0', 16), i * 2);
  });
  return out;
}

/**
 * A PROXY protocol v2 header (command PROXY, STREAM over INET or INET6) carrying the client's
 * address and the address it connected to. Mixed families (an IPv4 client on an IPv6 listener)
 * are sent as IPv6 with the IPv4 address mapped.
 */
export function encodeProxyV2(e: ProxyEndpoints): Buffer {
  const src = unmap(e.sourceAddress);
  const dst = unmap(e.destAddress);
  const v4 = net.isIPv4(src) && net.isIPv4(dst);
  const toV6 = (a: string): string => (net.isIPv4(a) ? `::ffff:${a}` : a);
  const addrs = v4
    ? Buffer.concat([ipv4Bytes(src), ipv4Bytes(dst)])
    : Buffer.concat([ipv6Bytes(toV6(src)), ipv6Bytes(toV6(dst))]);
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(e.sourcePort, 0);
  ports.writeUInt16BE(e.destPort, 2);
  const head = Buffer.alloc(4);
  head[0] = 0x21; // version 2, command PROXY
  head[1] = v4 ? 0x11 : 0x21; // AF_INET/AF_INET6, STREAM
  head.writeUInt16BE(addrs.length + ports.length, 2);
  return Buffer.concat([PROXY_V2_SIGNATURE, head, addrs, ports]);
}

/** Parses a v2 header (tests, and anyone who wants to check one); undefined if incomplete. */
export function decodeProxyV2(
  buf: Buffer,
): (ProxyEndpoints & { readonly length: number; readonly family: 'inet' | 'inet6' }) | undefined {
  if (buf.length < 16 || !buf.subarray(0, 12).equals(PROXY_V2_SIGNATURE)) return undefined;
  const len = buf.readUInt16BE(14);
  if (buf.length < 16 + len) return undefined;
  const body = buf.subarray(16, 16 + len);
  const fam = buf[13] ?? 0;
  if (fam >> 4 === 1 && len >= 12) {
    const ip = (o: number): string => [...body.subarray(o, o + 4)].join('.');
    return {
      family: 'inet',
      sourceAddress: ip(0),
      destAddress: ip(4),
      sourcePort: body.readUInt16BE(8),
      destPort: body.readUInt16BE(10),
      length: 16 + len,
    };
  }
  if (fam >> 4 === 2 && len >= 36) {
    const ip = (o: number): string => {
      const g: string[] = [];
      for (let i = 0; i < 8; i++) g.push(body.readUInt16BE(o + i * 2).toString(16));
      return g.join(':');
    };
    return {
      family: 'inet6',
      sourceAddress: ip(0),
      destAddress: ip(16),
      sourcePort: body.readUInt16BE(32),
      destPort: body.readUInt16BE(34),
      length: 16 + len,
    };
  }
  return undefined;
}
