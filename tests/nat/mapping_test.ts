import { assertEquals } from "../_util/assert.ts";
import { probeMapping } from "../../lib/nat/mod.ts";
import { startStunServer } from "../../lib/stun/mod.ts";

Deno.test("with no NAT in the way, mapping is endpoint-independent", async () => {
  await using a = await startStunServer({ hostname: "127.0.0.1", port: 0 });
  await using b = await startStunServer({ hostname: "127.0.0.1", port: 0 });
  assertEquals(
    await probeMapping({ host: "127.0.0.1", port: a.port, altPort: b.port }),
    "endpoint-independent",
  );
});

Deno.test("mapping is unknown without a second port, or when nothing answers", async () => {
  await using a = await startStunServer({ hostname: "127.0.0.1", port: 0 });
  assertEquals(await probeMapping({ host: "127.0.0.1", port: a.port, altPort: 0 }), null);
  // Port 9 (discard) on loopback: no STUN server there.
  assertEquals(
    await probeMapping({ host: "127.0.0.1", port: a.port, altPort: 9, timeoutMs: 300 }),
    null,
  );
});
