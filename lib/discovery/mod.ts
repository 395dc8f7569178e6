/**
 * LAN discovery of an embedded relay, so `tun p2p-join CODE` needs no flags on
 * the same LAN. UDP multicast (IPv4, TTL 1, group 239.255.77.70): the guest asks
 * "who hosts session NAME?", the host's embedded relay answers by unicast with
 * its HTTP port; the guest takes the answer's source address as the relay host.
 *
 *   query:  "TUN1 Q <name>"
 *   answer: "TUN1 A <name> <http-port>"
 *
 * The query also goes to 127.0.0.1 by unicast, for a host on the same machine
 * when loopback is the only interface. Where multicast is blocked this simply
 * finds nothing; the join command the host prints carries `--relay` and works.
 */
import dgram from "node:dgram";
import { isValidName } from "../code/mod.ts";

export const DISCOVERY_GROUP = "239.255.77.70";
/** Default UDP port; env TUN_DISCOVERY_PORT overrides it (tests use their own). */
export const DEFAULT_DISCOVERY_PORT = 7709;

export function discoveryPort(env: Record<string, string | undefined>): number {
  const v = env.TUN_DISCOVERY_PORT;
  const n = v ? Number(v) : DEFAULT_DISCOVERY_PORT;
  return Number.isInteger(n) && n > 0 && n < 65536 ? n : DEFAULT_DISCOVERY_PORT;
}

export interface Responder {
  close(): void;
}

/**
 * Answer discovery queries for the sessions `hosts(name)` accepts. Several
 * hosts on one machine share the port (reuseAddr). Never throws on bad input.
 */
export function startResponder(options: {
  port: number;
  relayPort: number;
  hosts: (name: string) => boolean;
}): Promise<Responder> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket({ type: "udp4", reuseAddr: true });
    let ready = false;
    sock.on("error", () => {
      // Discovery is best effort: without it the printed --relay still works.
      if (!ready) resolve({ close: () => {} });
      try {
        sock.close();
      } catch { /* ignore */ }
    });
    sock.on("message", (buf, rinfo) => {
      if (buf.length > 64) return;
      const m = /^TUN1 Q ([0-9A-Z]{4})$/.exec(new TextDecoder().decode(buf));
      if (!m || !isValidName(m[1]) || !options.hosts(m[1])) return;
      const answer = new TextEncoder().encode(`TUN1 A ${m[1]} ${options.relayPort}`);
      sock.send(answer, rinfo.port, rinfo.address, () => {});
    });
    sock.bind(options.port, () => {
      try {
        sock.addMembership(DISCOVERY_GROUP);
      } catch { /* no multicast-capable interface: nothing to answer */ }
      ready = true;
      resolve({
        close: () => {
          try {
            sock.close();
          } catch { /* ignore */ }
        },
      });
    });
  });
}

/**
 * Ask the LAN which relay hosts session `name`. Resolves to `http://ip:port`,
 * or null when nobody answered within `timeoutMs`.
 */
export function discover(
  name: string,
  options: { port: number; timeoutMs?: number },
): Promise<string | null> {
  const timeoutMs = options.timeoutMs ?? 3000;
  return new Promise((resolve) => {
    const sock = dgram.createSocket({ type: "udp4", reuseAddr: true });
    let done = false;
    let timer: ReturnType<typeof setInterval> | undefined;
    let deadline: ReturnType<typeof setTimeout> | undefined;
    const finish = (url: string | null) => {
      if (done) return;
      done = true;
      clearInterval(timer);
      clearTimeout(deadline);
      try {
        sock.close();
      } catch { /* ignore */ }
      resolve(url);
    };
    sock.on("error", () => finish(null));
    sock.on("message", (buf, rinfo) => {
      const m = /^TUN1 A ([0-9A-Z]{4}) (\d{1,5})$/.exec(new TextDecoder().decode(buf));
      if (!m || m[1] !== name) return;
      const port = Number(m[2]);
      if (port < 1 || port > 65535) return;
      const host = rinfo.family === "IPv6" ? `[${rinfo.address}]` : rinfo.address;
      finish(`http://${host}:${port}`);
    });
    sock.bind(0, () => {
      try {
        sock.setMulticastTTL(1);
      } catch { /* ignore */ }
      const query = new TextEncoder().encode(`TUN1 Q ${name}`);
      const ask = () => {
        if (done) return;
        sock.send(query, options.port, DISCOVERY_GROUP, () => {});
        // A host on this same machine, where loopback has no multicast route.
        sock.send(query, options.port, "127.0.0.1", () => {});
      };
      ask();
      timer = setInterval(ask, 250);
      deadline = setTimeout(() => finish(null), timeoutMs);
    });
  });
}
