/**
 * STUN (RFC 8489): a pure message codec, the Binding method's server side, a
 * UDP server and a Binding client; and RFC 5780 NAT behaviour discovery's
 * server side (CHANGE-REQUEST, RESPONSE-ORIGIN, OTHER-ADDRESS) on two ports
 * and one or two addresses. The client side of RFC 5780 is lib/nat.
 *
 * @example Ask a server for our reflexive address
 * ```ts
 * const { address, port } = await stunBinding({ host: "127.0.0.1", port: 3478 });
 * ```
 *
 * @example Build, encode and check a message
 * ```ts
 * const msg = createMessage(StunMethod.Binding, StunClass.Request);
 * setAttribute(msg, Username, "evtj:h6vY");
 * const bytes = encodeMessage(msg, { integrityKey: shortTermKey("pass"), fingerprint: true });
 * const back = decodeMessage(bytes); // throws StunDecodeError on malformed input
 * verifyMessageIntegrity(back, shortTermKey("pass")) && verifyFingerprint(back); // true
 * ```
 *
 * @example Serve RFC 5780 behaviour discovery from two addresses and two ports
 * ```ts
 * await using server = await startBehaviourServer({
 *   primaryHost: "192.0.2.1", altHost: "192.0.2.2", port: 3478, altPort: 3479,
 * });
 * server.otherAddress; // { family: "IPv4", address: "192.0.2.2", port: 3479 }
 * ```
 */
export {
  AttrType,
  HEADER_SIZE,
  isComprehensionRequired,
  MAGIC_COOKIE,
  MAX_MESSAGE_SIZE,
  StunClass,
  StunMethod,
} from "./constants.ts";
export { StunBindingError, StunDecodeError } from "./errors.ts";
export {
  createMessage,
  type DecodedStunMessage,
  decodeMessage,
  encodeMessage,
  type EncodeOptions,
  isStunMessage,
  messageType,
  newTransactionId,
  splitMessageType,
  type StunAttribute,
  type StunMessage,
} from "./message.ts";
export {
  type AttributeCodec,
  bytesAttribute,
  ChangeRequest,
  type ChangeRequestFlags,
  ChannelNumber,
  Data,
  DontFragment,
  ErrorCode,
  ErrorCodes,
  type ErrorCodeValue,
  EvenPort,
  flagAttribute,
  getAttribute,
  IceControlled,
  IceControlling,
  Lifetime,
  type MessageContext,
  Nonce,
  Padding,
  Priority,
  Realm,
  RequestedAddressFamily,
  RequestedTransport,
  ReservationToken,
  ResponsePort,
  setAttribute,
  Software,
  textAttribute,
  type TextLimits,
  TRANSPORT_UDP,
  TurnAttrType,
  uint32Attribute,
  uint64Attribute,
  UnknownAttributes,
  Username,
  XorPeerAddress,
  XorRelayedAddress,
} from "./attributes.ts";
export {
  addressAttribute,
  AlternateServer,
  MappedAddress,
  OtherAddress,
  ResponseOrigin,
  type TransportAddress,
  xorAddressAttribute,
  XorMappedAddress,
} from "./address.ts";
export { longTermKey, shortTermKey, verifyMessageIntegrity } from "./integrity.ts";
export { crc32, hasFingerprint, verifyFingerprint } from "./fingerprint.ts";
export { answerBinding, type BindingOptions } from "./binding.ts";
export {
  answerBehaviour,
  type BehaviourAnswer,
  type BehaviourLayout,
  type SocketSlot,
} from "./behaviour.ts";
export {
  type BehaviourServer,
  type BehaviourServerOptions,
  type DatagramSender,
  startBehaviourServer,
} from "./behaviour_server.ts";
export {
  DEFAULT_STUN_PORT,
  startStunServer,
  type StunServer,
  type StunServerOptions,
} from "./server.ts";
export { bindUdp, closeUdp, remoteAddress, sendTo } from "./udp.ts";
export {
  stunBinding,
  type StunBindingOptions,
  type StunServerAddress,
  stunTransaction,
  type StunTransactionResult,
} from "./client.ts";
