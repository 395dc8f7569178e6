export * from "./messages.ts";
export { SignalClient, type SignalClientOptions } from "./client.ts";
