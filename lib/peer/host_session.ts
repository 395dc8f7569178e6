/**
 * The host's session at its relay: in LAN mode the relay it embeds (with
 * HTTPS for browser guests and a discovery responder), then the signalling
 * connection and the registration that names the session.
 */
import process from "node:process";
import { tokenParams } from "../auth/mod.ts";
import { type IceServer, SignalClient } from "../signal/mod.ts";
import { discoveryPort, startResponder } from "../discovery/mod.ts";
import { type Relay, startRelay } from "../../relay/mod.ts";
import type { Output } from "../cli/output.ts";
import { type DevCert, devCert } from "../cli/dev_cert.ts";
import { lanAddress, stunUrl } from "./relay_url.ts";

export interface HostSession {
  signal: SignalClient;
  /** The session name the relay gave us. */
  name: string;
  /** The relay this process embeds (LAN mode), if any. */
  relay?: Relay;
  /** How this process reaches the relay. */
  relayUrl: string;
  /** How guests reach it (printed in the join command). */
  publicRelayUrl: string;
  /** The https origin browser guests open, or null. */
  webOrigin: string | null;
  /** The embedded relay's development certificate, if it serves HTTPS. */
  devTls?: DevCert;
  iceServers: IceServer[];
  /** Close the signalling, the responder and the embedded relay. */
  close(): Promise<void>;
}

/** Open the session; throws with a message for the user. */
export async function openHostSession(
  o: { relayUrl?: string; token?: string; out: Output },
): Promise<HostSession> {
  let relay: Relay | undefined;
  let responder: { close(): void } | undefined;
  let devTls: DevCert | undefined;
  let relayUrl = o.relayUrl;
  let publicRelayUrl = relayUrl;
  let webOrigin: string | null = null;
  const closeLocal = async () => {
    responder?.close();
    await relay?.close();
  };
  if (!relayUrl) {
    // LAN mode. TURN keeps refusing private peers other than its own relayed
    // addresses: a guest holding only the session name must not reach this
    // machine's loopback services through it. HTTPS too, for browser guests,
    // with the saved development certificate.
    devTls = await devCert([lanAddress()]).catch((err: Error) => {
      o.out.say(o.out.yellow(`note: no HTTPS for browser guests (${err.message})`));
      return undefined;
    });
    relay = await startRelay({
      hostname: "0.0.0.0",
      port: 0,
      stunPort: 0,
      https: devTls && { port: 0, certPem: devTls.certPem, keyPem: devTls.keyPem },
    });
    relayUrl = `http://127.0.0.1:${relay.port}`;
    publicRelayUrl = `http://${lanAddress()}:${relay.port}`;
    if (relay.httpsPort !== null) webOrigin = `https://${lanAddress()}:${relay.httpsPort}`;
    const sessions = relay.sessions;
    responder = await startResponder({
      port: discoveryPort(process.env),
      relayPort: relay.port,
      hosts: (name) => sessions.has(name),
    });
  }

  let signal: SignalClient;
  try {
    signal = await SignalClient.connect({
      relayUrl,
      params: tokenParams(relay ? undefined : o.token),
    });
  } catch (err) {
    await closeLocal();
    throw err;
  }
  let iceServers: IceServer[] = [{ urls: [stunUrl(relayUrl, signal.welcome.stun_port)] }];
  signal.send({ t: "host" });
  let name: string;
  try {
    const hosted = await signal.next(["hosted"]);
    if (hosted.t !== "hosted") throw new Error("unexpected reply");
    name = hosted.name;
    if (hosted.ice.length) iceServers = hosted.ice;
    if (!relay) webOrigin = hosted.web;
  } catch (err) {
    signal.close();
    await closeLocal();
    throw new Error(`relay refused to host: ${(err as Error).message}`);
  }
  return {
    signal,
    name,
    relay,
    relayUrl,
    publicRelayUrl: publicRelayUrl!,
    webOrigin,
    devTls,
    iceServers,
    close: async () => {
      await signal.close();
      await closeLocal();
    },
  };
}
