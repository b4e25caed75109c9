/**
 * The service protocol, server side: framing, message schemas, version negotiation, endpoint
 * discovery, the transports that carry an invocation's messages (HTTP/2 bidi streams and
 * request/response over HTTP/2 or HTTP/1.1), and the request identity that signs them. It
 * knows nothing of partitions, journals or the store, and never decides what a message means:
 * that belongs to the invoker and the worker.
 */
export {
  MessageType,
  type MessageTypeCode,
  REQUESTED_ACK_FLAG,
  MAX_FRAME_BYTES,
  type Frame,
  FrameDecoder,
  encodeFrame,
  isCommand,
  isNotification,
  isCustomEntry,
} from './framing.ts';
export {
  MESSAGE_SCHEMAS,
  type KnownMessageType,
  type SchemaOf,
  type MessageOf,
  isKnownMessageType,
  isJournaledCommand,
  schemaForType,
  messageTypeName,
  encodeMessage,
  decodeMessage,
  encodeMessageFrame,
  decodeFrame,
} from './messages.ts';
export {
  ProtocolError,
  ProtocolErrorCode,
  TransportError,
  TransportErrorCode,
  DiscoveryError,
  DiscoveryErrorCode,
} from './errors.ts';
export {
  SUPPORTED_VERSIONS,
  type ProtocolVersion,
  MIN_PROTOCOL_VERSION,
  MAX_PROTOCOL_VERSION,
  contentTypeFor,
  versionOfContentType,
  isSupportedVersion,
  negotiateVersion,
} from './version.ts';
export {
  openInvocationStream,
  closeAllSessions,
  invokeUrl,
  type InvocationStream,
  type InvocationStreamOptions,
  type ByteBudget,
} from './transport.ts';
export {
  RequestIdentity,
  RequestIdentityError,
  identityHeaders,
  audienceOf,
} from './identity.ts';
export { safeExcerpt } from './excerpt.ts';
export {
  discoverEndpoint,
  MAX_MANIFEST_BYTES,
  type DiscoverOptions,
  type EndpointManifest,
  type ServiceManifest,
  type HandlerManifest,
} from './discovery.ts';
export * as pb from './generated/endure/protocol_pb.ts';
