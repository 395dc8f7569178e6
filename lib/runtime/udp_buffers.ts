/**
 * Larger kernel receive buffers for UDP sockets we hold no handle to.
 *
 * libwebrtc (inside @roamhq/wrtc) opens its ICE sockets itself and leaves their
 * receive buffer at the kernel default (net.core.rmem_default, 208 KiB). One
 * DTLS/SCTP datagram of ~1.2 kB costs ~2.3 kB of that buffer, so a receiving
 * peer whose network thread is off the CPU for 2-4 ms at 50 MB/s overflows it;
 * each dropped datagram costs the SCTP association a retransmission, and
 * sometimes a 400 ms+ retransmission timeout. Changing rmem_default would do,
 * but it is a system-wide setting; instead this finds the process's UDP
 * sockets in /proc/self/fd and raises each one with setsockopt(SO_RCVBUF),
 * which any process may do for its own sockets up to net.core.rmem_max. Where
 * that caps the request, SO_RCVBUFFORCE goes past rmem_max for a process with
 * CAP_NET_ADMIN (root), as quic-go does. A stock rmem_max (208 KiB, which the
 * kernel doubles to 416 KiB) measured no better than the default: like QUIC
 * stacks, tun needs rmem_max raised to go fast without root.
 *
 * The adapter supplies `setsockopt`/`getsockopt` from libc through its
 * runtime's FFI; without one (not Linux, FFI not permitted) this does nothing.
 */
import fs from "node:fs";

/** The libc calls we need, as the runtime adapter binds them. */
export interface SockOpts {
  /** getsockopt(fd, level, name) for an int option; null when the call fails. */
  getInt(fd: number, level: number, name: number): number | null;
  /** setsockopt(fd, level, name, value) for an int option; true on success. */
  setInt(fd: number, level: number, name: number, value: number): boolean;
}

/** libc's getsockopt and setsockopt as a runtime's FFI binds them, buffers passed by pointer. */
export interface LibcSockCalls {
  getsockopt(fd: number, level: number, name: number, value: Int32Array, len: Uint32Array): number;
  setsockopt(fd: number, level: number, name: number, value: Int32Array, len: number): number;
}

/** {@link SockOpts} over those calls, reusing one int and one length buffer. */
export function sockOptsOver(libc: LibcSockCalls): SockOpts {
  const value = new Int32Array(1);
  const len = new Uint32Array(1);
  return {
    getInt(fd, level, name) {
      len[0] = 4;
      return libc.getsockopt(fd, level, name, value, len) === 0 ? value[0] : null;
    },
    setInt(fd, level, name, v) {
      value[0] = v;
      return libc.setsockopt(fd, level, name, value, 4) === 0;
    },
  };
}

/** <sys/socket.h>, <netinet/in.h> on Linux (all architectures tun builds for). */
export const Sock = {
  SOL_SOCKET: 1,
  SO_TYPE: 3,
  SO_RCVBUF: 8,
  SO_RCVBUFFORCE: 33,
  SO_PROTOCOL: 38,
  SOCK_DGRAM: 2,
  IPPROTO_UDP: 17,
} as const;
const { SOL_SOCKET, SO_TYPE, SO_RCVBUF, SO_RCVBUFFORCE, SO_PROTOCOL, SOCK_DGRAM, IPPROTO_UDP } =
  Sock;

/** What {@link raiseUdpReceiveBuffers} did. */
export interface RaisedBuffers {
  /** UDP sockets whose buffer was raised. */
  raised: number;
  /** The smallest receive buffer (bytes, as the kernel reports it) among UDP sockets afterwards. */
  minBytes: number | null;
}

/**
 * Ask for at least `bytes` of receive buffer on every UDP socket among `fds`
 * (default: this process's sockets) that has less. Never throws.
 */
export function raiseWith(
  opts: SockOpts | null,
  bytes: number,
  fds: number[] = socketFds(),
): RaisedBuffers {
  const result: RaisedBuffers = { raised: 0, minBytes: null };
  if (!opts) return result;
  for (const fd of fds) {
    if (opts.getInt(fd, SOL_SOCKET, SO_TYPE) !== SOCK_DGRAM) continue;
    if (opts.getInt(fd, SOL_SOCKET, SO_PROTOCOL) !== IPPROTO_UDP) continue;
    const before = opts.getInt(fd, SOL_SOCKET, SO_RCVBUF);
    if (before === null) continue;
    // The kernel reports twice what was set (its bookkeeping overhead included).
    let after = before;
    if (before < bytes * 2 && opts.setInt(fd, SOL_SOCKET, SO_RCVBUF, bytes)) {
      after = opts.getInt(fd, SOL_SOCKET, SO_RCVBUF) ?? before;
      if (after < bytes * 2 && opts.setInt(fd, SOL_SOCKET, SO_RCVBUFFORCE, bytes)) {
        after = opts.getInt(fd, SOL_SOCKET, SO_RCVBUF) ?? after;
      }
    }
    if (after > before) result.raised++;
    result.minBytes = Math.min(result.minBytes ?? after, after);
  }
  return result;
}

/** This process's socket file descriptors, from /proc/self/fd; none where there is no /proc. */
function socketFds(inodes?: ReadonlySet<string>): number[] {
  let names: string[];
  try {
    names = fs.readdirSync("/proc/self/fd");
  } catch {
    return []; // not Linux
  }
  const fds: number[] = [];
  for (const name of names) {
    try {
      const link = fs.readlinkSync(`/proc/self/fd/${name}`); // "socket:[12345]"
      if (!link.startsWith("socket:")) continue;
      if (!inodes || inodes.has(link.slice(8, -1))) fds.push(Number(name));
    } catch {
      // closed meanwhile
    }
  }
  return fds;
}

/**
 * This process's UDP sockets bound to local `port` (for a socket whose runtime
 * API hides its descriptor): the inodes /proc/net/udp and udp6 list for the
 * port in this network namespace, matched against /proc/self/fd. None where
 * there is no /proc.
 */
export function udpFdsOnPort(port: number): number[] {
  const inodes = new Set<string>();
  for (const table of ["/proc/self/net/udp", "/proc/self/net/udp6"]) {
    let text: string;
    try {
      text = fs.readFileSync(table, "utf8");
    } catch {
      continue;
    }
    // "sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ..."
    // with local_address as HEXIP:HEXPORT.
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10) continue;
      if (parseInt(fields[1].slice(fields[1].lastIndexOf(":") + 1), 16) === port) {
        inodes.add(fields[9]);
      }
    }
  }
  return inodes.size > 0 ? socketFds(inodes) : [];
}
