import { assertEquals, assertThrows } from "../_util/assert.ts";
import {
  formatJoinCode,
  isValidName,
  JoinCodeError,
  mintName,
  mintSecret,
  parseJoinCode,
} from "../../lib/code/mod.ts";

Deno.test("a join code is parsed the way a person types it", () => {
  const cases: [string, string, string][] = [
    ["K7M2-QX9P-4RTW", "K7M2", "QX9P4RTW"],
    ["k7m2-qx9p-4rtw", "K7M2", "QX9P4RTW"],
    ["K7M2 QX9P 4RTW", "K7M2", "QX9P4RTW"],
    ["  K7M2QX9P4RTW ", "K7M2", "QX9P4RTW"],
    ["OIL0-0000-0000", "0110", "00000000"], // O→0, I and L→1
  ];
  for (const [text, name, secret] of cases) {
    assertEquals(parseJoinCode(text), { name, secret }, text);
  }
});

Deno.test("a malformed join code fails with a one-line reason", () => {
  for (const text of ["", "K7M2-QX9P", "K7M2-QX9P-4RTW-XXXX", "K7M2-QX9P-4RTU", "K7M2/QX9P/4RTW"]) {
    const err = assertThrows(() => parseJoinCode(text), JoinCodeError);
    assertEquals(err.message.includes("\n"), false);
  }
});

Deno.test("minted codes format and parse back, and names are valid", () => {
  for (let i = 0; i < 1000; i++) {
    const code = { name: mintName(), secret: mintSecret() };
    assertEquals(isValidName(code.name), true);
    const text = formatJoinCode(code);
    assertEquals(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/.test(text), true, text);
    assertEquals(parseJoinCode(text), code);
  }
});

Deno.test("a session name in lower case or with ambiguous letters is not canonical", () => {
  assertEquals(isValidName("k7m2"), false);
  assertEquals(isValidName("K7MO"), false);
  assertEquals(isValidName("K7M"), false);
});
