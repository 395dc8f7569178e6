/** `deno bench tests/pake/`: what one join costs each peer in PAKE work. */
import { randomSid, startPake } from "../../lib/pake/mod.ts";

const TRANSCRIPT = {
  initiatorFingerprint: "SHA-256 " + "11:".repeat(31) + "11",
  responderFingerprint: "SHA-256 " + "22:".repeat(31) + "22",
};

function exchange(): void {
  const sid = randomSid();
  const g = startPake({ role: "initiator", password: "QX9P4RTW", sid, context: "K7M2" });
  const h = startPake({ role: "responder", password: "QX9P4RTW", sid, context: "K7M2" });
  const guest = g.finish(h.message);
  const host = h.finish(g.message);
  if (!guest.verify(host.confirm(TRANSCRIPT), TRANSCRIPT)) throw new Error("guest refused");
  if (!host.verify(guest.confirm(TRANSCRIPT), TRANSCRIPT)) throw new Error("host refused");
  guest.deriveKey("inner", 32);
}

Deno.bench("full exchange, both sides: start, finish, confirm, verify", exchange);

Deno.bench("one side's startPake (generator + Y)", () => {
  startPake({ role: "initiator", password: "QX9P4RTW", sid: randomSid(), context: "K7M2" });
});

const peer = startPake({ role: "responder", password: "QX9P4RTW", sid: randomSid(), context: "" });
Deno.bench("one side's finish (decode + K + ISK)", (b) => {
  const run = startPake({ role: "initiator", password: "QX9P4RTW", sid: randomSid(), context: "" });
  b.start();
  run.finish(peer.message);
  b.end();
});
