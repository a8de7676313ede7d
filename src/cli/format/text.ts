/** Small renderings docker/cli applies to values before printing them. */

/** docker's formatter.PrettyPrint: first letter upper case, the rest lower case (`ready` → `Ready`). */
export function capitalize(s: string): string {
  if (s.length <= 1) return s.toLowerCase();
  return s.charAt(0).toUpperCase() + s.slice(1).toLowerCase();
}

const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'] as const;

/** go-units BytesSize: binary units, 4 significant digits (`7.668GiB`, `512MiB`). */
export function bytesSize(bytes: number): string {
  let size = bytes;
  let i = 0;
  while (size >= 1024 && i < BINARY_UNITS.length - 1) {
    size /= 1024;
    i++;
  }
  return `${String(Number(size.toPrecision(4)))}${BINARY_UNITS[i] ?? 'B'}`;
}

/**
 * An RFC 3339 time as Go's time.Time String() prints it, in UTC:
 * `2024-05-01 12:34:56.123456789 +0000 UTC` (trailing zeros of the fraction dropped).
 * Returns the input unchanged when it does not parse.
 */
export function goTimeString(rfc3339: string): string {
  const ms = Date.parse(rfc3339);
  if (Number.isNaN(ms)) return rfc3339;
  const frac = /\.(\d+)/.exec(rfc3339)?.[1] ?? '';
  const d = new Date(ms);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  const date = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  const nanos = frac.padEnd(9, '0').slice(0, 9).replace(/0+$/, '');
  return `${date} ${time}${nanos ? '.' + nanos : ''} +0000 UTC`;
}

/**
 * JSON as Go's json.MarshalIndent(v, "", "    ") writes it: 4-space indent and `<`, `>`, `&`,
 * U+2028 and U+2029 escaped. This is what `inspect` prints.
 */
export function indentJson(value: unknown): string {
  return ((JSON.stringify(value, null, 4) as string | undefined) ?? 'null').replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * "Natural" order as github.com/fvbommel/sortorder: runs of digits compare by value
 * (`node-2` before `node-10`), everything else byte-wise.
 */
export function naturalLess(a: string, b: string): boolean {
  return naturalCompare(a, b) < 0;
}

/** Three-way natural comparison (see naturalLess). */
export function naturalCompare(a: string, b: string): number {
  const chunks = (s: string): string[] => s.match(/\d+|\D+/g) ?? [];
  const ca = chunks(a);
  const cb = chunks(b);
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    const x = ca[i] ?? '';
    const y = cb[i] ?? '';
    const xd = /^\d/.test(x);
    const yd = /^\d/.test(y);
    if (xd && yd) {
      const xs = x.replace(/^0+/, '');
      const ys = y.replace(/^0+/, '');
      if (xs.length !== ys.length) return xs.length - ys.length;
      if (xs !== ys) return xs < ys ? -1 : 1;
      if (x.length !== y.length) return x.length - y.length; // fewer leading zeros first
    } else if (x !== y) {
      return x < y ? -1 : 1;
    }
  }
  return ca.length - cb.length;
}
