/**
 * The service protocol, server side: framing, message schemas, version negotiation, endpoint
 * discovery, and the transports that carry an invocation's messages (HTTP/2 bidi streams and
 * request/response over HTTP/2 or HTTP/1.1). It knows nothing of partitions or the store.
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
export { ProtocolError, TransportError, DiscoveryError } from './errors.ts';
export { SUPPORTED_VERSIONS, contentTypeFor, negotiateVersion } from './version.ts';
export { openInvocationStream, closeAllSessions, type InvocationStream, type InvocationStreamOptions } from './transport.ts';
export { discoverEndpoint, type DiscoverOptions, type EndpointManifest, type ServiceManifest, type HandlerManifest } from './discovery.ts';
export * as pb from './generated/endure/protocol_pb.ts';
