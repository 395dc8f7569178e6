/**
 * What the NAT in front of this machine does, and what that means for a
 * direct path: `probeNat` runs RFC 5780 behaviour discovery against the
 * relay (the client side of lib/stun's behaviour server), `natVerdict` puts
 * the result in plain words, and `directPossible` tells two peers, from each
 * other's results, whether hole punching can work at all.
 *
 * @example Probe, print, and decide whether to try a direct path
 * ```ts
 * const report = await probeNat({ host: "relay.example", port: 3478, altPort: welcome.stun_alt_port });
 * console.log(report.verdict); // "direct connections likely"
 * if (directPossible(report, peerReport) === false) goStraightToRelay();
 * ```
 */
export { type NatProbeOptions, type NatReport, probeNat } from "./probe.ts";
export {
  type Behaviour,
  directPossible,
  type NatBehaviour,
  natVerdict,
  Verdicts,
} from "./verdict.ts";
