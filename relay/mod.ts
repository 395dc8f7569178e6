export { type Relay, RELAY_VERSION, type RelayOptions, startRelay } from "./server.ts";
