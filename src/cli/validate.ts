import { isIP } from 'node:net';
import type { NodeAvailability, NodeRole } from '../shared/api-types.js';
import { TswarmError } from '../shared/errors.js';

/**
 * Checks the CLI makes before it contacts the daemon. Each parser returns the clean value
 * or throws an INVALID_ARGUMENT TswarmError whose message is what the user sees.
 */

function invalid(message: string): never {
  throw new TswarmError('INVALID_ARGUMENT', message);
}

/** The swarm management port Docker defaults to. */
export const DEFAULT_SWARM_PORT = 2377;

const HOSTNAME_RE =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/** Names Linux gives network interfaces; Docker accepts them for addresses, tswarm does not. */
const INTERFACE_RE =
  /^(?:lo|eth\d+|eno\d+|ens\d+|enp\d+s\d+(?:f\d+)?|enx[0-9a-f]{12}|wlan\d+|wlp\d+s\d+|docker\d+|br-[0-9a-f]{12}|veth[0-9a-f]+|virbr\d+|bond\d+|tun\d+|tap\d+)$/;

/** host and optional port of an address flag or argument. */
export interface HostPort {
  readonly host: string;
  readonly port: number | undefined;
}

/**
 * Parses `<ip|hostname>[:port]` (IPv6 as `[addr]:port` or a bare address); `what` names the
 * flag or argument in messages. Interface names (eth0, ...) are refused with a hint.
 */
export function parseHostPort(raw: string, what: string): HostPort {
  const bad = (why: string): never =>
    invalid(`invalid address ${JSON.stringify(raw)} for ${what}: ${why}`);
  let s = raw;
  if (s === '') bad('the address is empty');
  if (/\s/.test(s)) bad('the address contains whitespace');
  if (s.startsWith('tcp://')) s = s.slice('tcp://'.length);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) bad('only tcp:// addresses are supported');
  if (s.includes('/')) bad('expected <ip|hostname>[:port], without a path');
  let host: string;
  let portRaw: string | undefined;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) bad('missing "]" after the IPv6 address');
    host = s.slice(1, close);
    const rest = s.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) bad('expected ":port" after "]"');
    portRaw = rest === '' ? undefined : rest.slice(1);
    if (isIP(host) !== 6) bad(`${JSON.stringify(host)} is not an IPv6 address`);
  } else if ((s.match(/:/g) ?? []).length > 1) {
    host = s;
    if (isIP(host) !== 6) bad('an IPv6 address with a port must be written [address]:port');
  } else {
    const colon = s.indexOf(':');
    host = colon < 0 ? s : s.slice(0, colon);
    portRaw = colon < 0 ? undefined : s.slice(colon + 1);
  }
  let port: number | undefined;
  if (portRaw !== undefined) {
    if (!/^\d+$/.test(portRaw)) bad(`invalid port ${JSON.stringify(portRaw)}`);
    port = Number(portRaw);
    if (port < 1 || port > 65535) bad(`port ${portRaw} is out of range 1-65535`);
  }
  if (host === '') return { host, port };
  if (isIP(host) !== 0) return { host, port };
  if (/^[\d.]+$/.test(host)) bad(`${JSON.stringify(host)} is not a valid IPv4 address`);
  if (INTERFACE_RE.test(host)) {
    bad(
      `${JSON.stringify(host)} looks like a network interface name; interface names are not supported, use an IP address or a hostname`,
    );
  }
  if (!HOSTNAME_RE.test(host)) bad(`${JSON.stringify(host)} is not a valid IP address or hostname`);
  return { host, port };
}

/** Renders host:port, bracketing IPv6. */
export function joinHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * `--listen-addr`: `<ip|hostname>[:port]`, port defaulting to 2377 and host to 0.0.0.0
 * (`:4567` is allowed), as Docker's NodeAddrOption. Returns `host:port`.
 */
export function parseListenAddr(raw: string, what = '--listen-addr'): string {
  const { host, port } = parseHostPort(raw, what);
  return joinHostPort(host === '' ? '0.0.0.0' : host, port ?? DEFAULT_SWARM_PORT);
}

/** `--advertise-addr`: `<ip|hostname>[:port]`; no default port (the daemon uses the listen port). */
export function parseAdvertiseAddr(raw: string, what = '--advertise-addr'): string {
  const { host, port } = parseHostPort(raw, what);
  if (host === '') invalid(`invalid address ${JSON.stringify(raw)} for ${what}: the host is empty`);
  return port === undefined ? host : joinHostPort(host, port);
}

/** `swarm join HOST:PORT`: a manager's address; the port defaults to 2377 as Docker's daemon does. */
export function parseRemoteAddr(raw: string): string {
  const { host, port } = parseHostPort(raw, 'HOST:PORT');
  if (host === '')
    invalid(`invalid address ${JSON.stringify(raw)} for HOST:PORT: the host is empty`);
  return joinHostPort(host, port ?? DEFAULT_SWARM_PORT);
}

const TOKEN_RE = /^SWMTKN-1-[0-9a-z]+-[0-9a-z]+$/;

/** A join token's shape: `SWMTKN-1-<CA digest>-<secret>` (the daemon checks the rest). */
export function parseJoinToken(raw: string | undefined): string {
  if (raw === undefined || raw.trim() === '') {
    invalid(
      'a join token is required: pass --token (run "tswarm swarm join-token worker" on a manager to print one)',
    );
  }
  const token = raw.trim();
  if (!token.startsWith('SWMTKN-1-')) {
    invalid(`invalid join token ${JSON.stringify(token)}: a join token starts with SWMTKN-1-`);
  }
  if (!TOKEN_RE.test(token)) {
    invalid(
      `invalid join token ${JSON.stringify(token)}: expected SWMTKN-1-<CA digest>-<secret> in lower-case letters and digits`,
    );
  }
  return token;
}

/** `--role`: worker or manager (case-insensitive, as Docker lower-cases it). */
export function parseRole(raw: string): NodeRole {
  const role = raw.toLowerCase();
  if (role === 'worker' || role === 'manager') return role;
  return invalid(`invalid role ${JSON.stringify(raw)}, only worker and manager are supported`);
}

/** `--availability`: active, pause or drain (case-insensitive). */
export function parseAvailability(raw: string): NodeAvailability {
  const a = raw.toLowerCase();
  if (a === 'active' || a === 'pause' || a === 'drain') return a;
  return invalid(
    `invalid availability ${JSON.stringify(raw)}, only active, pause and drain are supported`,
  );
}

/** `--label-add key=value` (or `key`, an empty value), as Docker's ValidateLabel. */
export function parseLabel(raw: string): readonly [key: string, value: string] {
  const eq = raw.indexOf('=');
  const key = eq < 0 ? raw : raw.slice(0, eq);
  const value = eq < 0 ? '' : raw.slice(eq + 1);
  if (key.trim() === '') invalid(`invalid label ${JSON.stringify(raw)}: empty name`);
  if (/\s/.test(key)) invalid(`label ${JSON.stringify(raw)} contains whitespaces`);
  return [key, value];
}

/** `--label-rm key`: a non-empty key without `=` or whitespace. */
export function parseLabelKey(raw: string): string {
  if (raw.trim() === '') invalid(`invalid label key ${JSON.stringify(raw)}: empty name`);
  if (raw.includes('=')) {
    invalid(`invalid label key ${JSON.stringify(raw)}: give the key only, without "=value"`);
  }
  if (/\s/.test(raw)) invalid(`label key ${JSON.stringify(raw)} contains whitespaces`);
  return raw;
}

/** A flag that takes a non-negative int32, with pflag's wording on failure. */
export function parseIntFlag(flag: string, raw: string, min = 0, max = 2 ** 31 - 1): number {
  const prefix = `invalid argument ${JSON.stringify(raw)} for "${flag}" flag`;
  if (!/^[-+]?\d+$/.test(raw.trim())) invalid(`${prefix}: not an integer`);
  const n = Number(raw.trim());
  if (n < min || n > max) invalid(`${prefix}: must be between ${min} and ${max}`);
  return n;
}

/** Filter keys `node ls` accepts (Docker's). */
export const NODE_FILTER_KEYS = [
  'id',
  'label',
  'name',
  'node.label',
  'membership',
  'role',
] as const;

/** `-f/--filter KEY=VALUE` values: format and key checked, returned unchanged. */
export function parseFilters(raw: readonly string[], allowed: readonly string[]): string[] {
  return raw.map((f) => {
    const eq = f.indexOf('=');
    if (eq <= 0) invalid(`bad format of filter (expected name=value): ${JSON.stringify(f)}`);
    const key = f.slice(0, eq).trim().toLowerCase();
    if (!allowed.includes(key)) {
      invalid(`invalid filter '${f.slice(0, eq)}' (supported: ${allowed.join(', ')})`);
    }
    const value = f.slice(eq + 1);
    if (key === 'role' && value !== 'manager' && value !== 'worker') {
      invalid(`invalid filter 'role=${value}': the role is manager or worker`);
    }
    if (key === 'membership' && value !== 'accepted' && value !== 'pending') {
      invalid(`invalid filter 'membership=${value}': the membership is accepted or pending`);
    }
    return `${key}=${value}`;
  });
}
