/**
 * peerAnswers: a peer is there if it answers the ping in time, or if anything
 * arrives from it meanwhile (a ping queued behind megabytes on one ordered
 * DataChannel can take longer than the check); gone otherwise. The pings here
 * are doubles playing a peer that is dead, slow or busy.
 */
import { assertEquals } from "../_util/assert.ts";
import { peerAnswers } from "../../lib/peer/liveness.ts";

const never = () => new Promise<number>(() => {});

Deno.test("a peer that answers the ping is there", async () => {
  assertEquals(await peerAnswers({ ping: () => Promise.resolve(0.4) }, 200), true);
});

Deno.test("a peer that neither answers nor sends anything is gone", async () => {
  assertEquals(await peerAnswers({ ping: never, heard: () => 7 }, 150), false);
  assertEquals(await peerAnswers({ ping: never }, 100), false);
});

Deno.test("a busy peer whose data keeps arriving is there, though its pong is late", async () => {
  let heard = 0;
  const timer = setInterval(() => heard++, 20);
  try {
    assertEquals(await peerAnswers({ ping: never, heard: () => heard }, 150), true);
  } finally {
    clearInterval(timer);
  }
});

Deno.test("a ping that fails or finds the control stream ended does not count", async () => {
  const ended = () => Promise.resolve(Infinity);
  const failed = () => Promise.reject(new Error("tunnel closed"));
  assertEquals(await peerAnswers({ ping: ended, heard: () => 1 }, 100), false);
  assertEquals(await peerAnswers({ ping: failed, heard: () => 1 }, 100), false);
});
