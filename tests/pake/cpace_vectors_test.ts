/**
 * Test vectors from draft-irtf-cfrg-cpace-21, appendix "Test vector for CPace
 * using group ristretto255 and hash SHA-512", and the string-utility vectors of
 * appendix "CPace function definitions". Copied from the draft text at tag
 * draft-irtf-cfrg-cpace-21 of github.com/cfrg/draft-irtf-cfrg-cpace (they match
 * testvectors.json in that repository). Earlier drafts (-13, -18) have other
 * values for this suite; these are the -21 ones.
 */
import { bytesToNumberLE } from "@noble/curves/utils.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { bytesToHex, hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import { assertEquals, assertThrows } from "../_util/assert.ts";
import {
  calculateGenerator,
  decodeElement,
  deriveIsk,
  DSI,
  generatorString,
  lvCat,
  prependLen,
  scalarMult,
  SHA512_BLOCK,
  sharedSecret,
  transcriptIr,
} from "../../lib/pake/cpace.ts";
import { PakeError } from "../../lib/pake/mod.ts";

/** Hex as printed in the draft: wrapped over several lines. */
const hex = (s: string) => hexToBytes(s.replace(/\s+/g, ""));
const range = (n: number) => Uint8Array.from({ length: n }, (_, i) => i);

const PRS = utf8ToBytes("Password");
const CI = hex("0b415f696e69746961746f720b425f726573706f6e646572");
const SID = hex("7e4b4791d6a8ef019b936c79fb7f2c57");
const ADA = utf8ToBytes("ADa");
const ADB = utf8ToBytes("ADb");
const YA_SCALAR = hex("da3d23700a9e5699258aef94dc060dfda5ebb61f02a5ea77fad53f4ff0976d08");
const YB_SCALAR = hex("d2316b454718c35362d83d69df6320f38578ed5984651435e2949762d900b80d");
const YA = hex("d6bac480f2c386c394efc7c47adb9925dcd2630b64f240c50f8d0eec482b9157");
const YB = hex("3ea7e0b19560d7c0b0f5734f63b955286dfa8232b5ebe63324e2d9e7433f7258");
const K = hex("80b69a8a76457ab6a4d7f887a4bf6b55a2f80ac19c333f917a05fc9887c8b40f");

Deno.test("prepend_len and lv_cat match the draft's string vectors", () => {
  const cases: [Uint8Array, string][] = [
    [new Uint8Array(0), "00"],
    [utf8ToBytes("1234"), "0431323334"],
    [range(127), "7f" + bytesToHex(range(127))],
    [range(128), "8001" + bytesToHex(range(128))],
  ];
  for (const [input, want] of cases) assertEquals(bytesToHex(prependLen(input)), want);
  const parts = ["1234", "5", "", "678"].map((s) => utf8ToBytes(s));
  assertEquals(bytesToHex(lvCat(...parts)), "043132333401350003363738");
});

Deno.test("transcript_ir matches the draft's vectors", () => {
  const u = utf8ToBytes;
  assertEquals(
    bytesToHex(transcriptIr(u("123"), u("PartyA"), u("234"), u("PartyB"))),
    "03313233065061727479410332333406506172747942",
  );
  assertEquals(
    bytesToHex(transcriptIr(u("3456"), u("PartyA"), u("2345"), u("PartyB"))),
    "043334353606506172747941043233343506506172747942",
  );
});

Deno.test("calculate_generator reproduces the ristretto255 generator vector", () => {
  const genStr = generatorString(DSI, PRS, CI, SID, SHA512_BLOCK);
  assertEquals(
    bytesToHex(genStr),
    bytesToHex(hex(`
      11435061636552697374726574746f3235350850617373776f726464
      00000000000000000000000000000000000000000000000000000000
      00000000000000000000000000000000000000000000000000000000
      00000000000000000000000000000000000000000000000000000000
      00000000000000000000000000000000180b415f696e69746961746f
      720b425f726573706f6e646572107e4b4791d6a8ef019b936c79fb7f
      2c57`)),
  );
  assertEquals(genStr.length, 170);
  assertEquals(
    bytesToHex(sha512(genStr)),
    "da6d3ddc8802fca9058755ffd3ebde08a9c2c74945901a258482a288" +
      "b6663af06bf645c93cd1c51512307199c80e84908916d983b34af772" +
      "05f90851a657ee27",
  );
  assertEquals(
    bytesToHex(calculateGenerator(PRS, CI, SID).toBytes()),
    "222b6b195fe84b1652badb6f6a3ae3d24341e7306967f0b8115b40d5698c7e56",
  );
});

Deno.test("messages, K and the initiator-responder ISK match the ristretto255 vectors", () => {
  const g = calculateGenerator(PRS, CI, SID);
  const ya = bytesToNumberLE(YA_SCALAR);
  const yb = bytesToNumberLE(YB_SCALAR);
  assertEquals(bytesToHex(scalarMult(ya, g)), bytesToHex(YA));
  assertEquals(bytesToHex(scalarMult(yb, g)), bytesToHex(YB));
  assertEquals(bytesToHex(sharedSecret(ya, YB)), bytesToHex(K));
  assertEquals(bytesToHex(sharedSecret(yb, YA)), bytesToHex(K));
  const transcript = transcriptIr(YA, ADA, YB, ADB);
  assertEquals(transcript.length, 74);
  assertEquals(
    bytesToHex(deriveIsk(SID, K, transcript)),
    "b69effbf61b51d56401c0f65601abe428de8206feaaf0e32198896dc" +
      "ae7b35cd2b38950a39dfd5d4a79164614c2984f7daa460b588c1e80c" +
      "3fa2068af7900447",
  );
});

Deno.test("scalar_mult on a valid element matches the draft, and its invalid inputs abort", () => {
  const s = bytesToNumberLE(
    hex("7cd0e075fa7955ba52c02759a6c90dbbfc10e6d40aea8d283e407d88cf538a05"),
  );
  const x = hex("2c3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d654b4a51c");
  assertEquals(
    bytesToHex(scalarMult(s, decodeElement(x))),
    "7c13645fe790a468f62c39beb7388e541d8405d1ade69d1778c5fe3e7f6b600e",
  );
  // Y_i1 (not a valid encoding) and Y_i2 = G.I: "the protocol MUST abort".
  const yi1 = hex("2b3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d654b4a51c");
  const yi2 = new Uint8Array(32);
  for (const bad of [yi1, yi2]) assertThrows(() => sharedSecret(s, bad), PakeError);
});
