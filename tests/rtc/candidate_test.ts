import { assertEquals } from "../_util/assert.ts";
import {
  candidateAddress,
  isLoopbackCandidate,
  offerLoopbackCandidates,
} from "../../lib/rtc/candidate.ts";

// Candidate lines as libwebrtc signalled them in the NAT lab.
const HOST = "candidate:369922440 1 udp 2122260223 10.3.0.2 34793 typ host generation 0";
const LOOP = "candidate:1510613869 1 udp 2122194687 127.0.0.1 33799 typ host generation 0";
const LOOP6 = "candidate:1 1 udp 2122194687 ::1 33799 typ host generation 0";
const SRFLX =
  "candidate:694842785 1 udp 1686052607 198.18.0.12 34793 typ srflx raddr 127.0.0.1 rport 34793";
const TCP = "candidate:344579997 1 tcp 1518214911 127.0.0.1 46117 typ host tcptype passive";
const MDNS =
  "candidate:9 1 udp 2122260223 4b6f0c1e-3c1c-4ad6-a1a7-3ab1c0ab6c3a.local 5000 typ host";

Deno.test("candidateAddress reads the connection address, or null for what is not a candidate", () => {
  const cases: [string, string | null][] = [
    [HOST, "10.3.0.2"],
    [`a=${HOST}`, "10.3.0.2"],
    [SRFLX, "198.18.0.12"],
    [MDNS, "4b6f0c1e-3c1c-4ad6-a1a7-3ab1c0ab6c3a.local"],
    ["", null],
    ["candidate:1 1 udp 1 10.0.0.1", null],
    ["foundation 1 udp 1 10.0.0.1 5000 typ host", null],
  ];
  for (const [line, want] of cases) assertEquals(candidateAddress(line), want, line);
});

Deno.test("isLoopbackCandidate: 127/8 and ::1 over UDP or TCP, not a related address", () => {
  const cases: [string, boolean][] = [
    [LOOP, true],
    [LOOP6, true],
    [TCP, true],
    [HOST, false],
    [SRFLX, false], // its raddr is loopback; the candidate is not
    [MDNS, false],
    ["candidate:1 1 udp 1 127.0.0.1.example 5000 typ host", false],
    ["garbage", false],
  ];
  for (const [line, want] of cases) assertEquals(isLoopbackCandidate(line), want, line);
});

Deno.test("loopback candidates are offered only when the relay is on loopback", () => {
  const cases: [string, boolean][] = [
    ["http://127.0.0.1:7700", true],
    ["http://127.1.2.3:7700", true],
    ["http://localhost:7700", true],
    ["http://[::1]:7700", true],
    ["http://10.77.0.1:7700", false],
    ["https://relay.example", false],
    ["http://[fd00::2]:7700", false],
  ];
  for (const [url, want] of cases) assertEquals(offerLoopbackCandidates(url), want, url);
});
