/** Stable codes of protocol-level failures. */
export const ProtocolErrorCode = {
  /** A frame announced more bytes than we accept. */
  FrameTooLarge: 'PROTOCOL_FRAME_TOO_LARGE',
  /** A message body that does not decode as its type's schema. */
  BadMessage: 'PROTOCOL_BAD_MESSAGE',
  /** A message type the server does not know (and that is not a custom entry). */
  UnknownMessage: 'PROTOCOL_UNKNOWN_MESSAGE',
  /** Endure and the deployment share no protocol version. */
  NoCommonVersion: 'PROTOCOL_NO_COMMON_VERSION',
} as const;
/** A protocol error code. */
export type ProtocolErrorCode = (typeof ProtocolErrorCode)[keyof typeof ProtocolErrorCode];

/** The peer broke the protocol: bad framing, an undecodable or unexpected message. */
export class ProtocolError extends Error {
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ProtocolError';
  }
}

/** Stable codes of failed HTTP exchanges with a deployment. */
export const TransportErrorCode = {
  /** No connection, or the connection failed before a response. */
  Unreachable: 'TRANSPORT_UNREACHABLE',
  /** The deployment answered with a status other than 200. */
  BadStatus: 'TRANSPORT_BAD_STATUS',
  /** The deployment answered 200 with a content type of another protocol version. */
  BadContentType: 'TRANSPORT_BAD_CONTENT_TYPE',
  /** The response broke off while it was being read. */
  StreamFailed: 'TRANSPORT_STREAM_FAILED',
  /** We tore the stream down ourselves. */
  Aborted: 'TRANSPORT_ABORTED',
  /** The stream would hold more bytes than the node's invocation memory limit leaves. */
  MemoryLimit: 'TRANSPORT_MEMORY_LIMIT',
} as const;
/** A transport error code. */
export type TransportErrorCode = (typeof TransportErrorCode)[keyof typeof TransportErrorCode];

/**
 * The HTTP exchange with a deployment failed. Always retryable from the server's point of view:
 * the invocation's journal is intact, and a later attempt replays it.
 */
export class TransportError extends Error {
  readonly retryable = true;
  /** The deployment's HTTP status, when it answered. */
  readonly status: number | undefined;

  constructor(
    readonly code: TransportErrorCode,
    message: string,
    options: { status?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'TransportError';
    this.status = options.status;
  }
}

/** Stable codes of failed discoveries, with Restate's error code for each. */
export const DiscoveryErrorCode = {
  InvalidUrl: 'DISCOVERY_INVALID_URL',
  Unreachable: 'DISCOVERY_UNREACHABLE',
  /** The endpoint did not answer in full within the discovery deadline. */
  Timeout: 'DISCOVERY_TIMEOUT',
  /** HTTP/2 failed but the endpoint answers HTTP/1.1: it must be registered with use_http_11. */
  Http11Only: 'DISCOVERY_HTTP11_ONLY',
  BadStatus: 'DISCOVERY_BAD_STATUS',
  BadContentType: 'DISCOVERY_BAD_CONTENT_TYPE',
  InvalidManifest: 'DISCOVERY_INVALID_MANIFEST',
  /** The answer is larger than any manifest Endure reads. */
  ManifestTooLarge: 'DISCOVERY_MANIFEST_TOO_LARGE',
  UnsupportedProtocolVersion: 'DISCOVERY_UNSUPPORTED_PROTOCOL_VERSION',
} as const;
/** A discovery error code. */
export type DiscoveryErrorCode = (typeof DiscoveryErrorCode)[keyof typeof DiscoveryErrorCode];

const RESTATE_CODES: Record<DiscoveryErrorCode, string> = {
  DISCOVERY_INVALID_URL: 'META0003',
  DISCOVERY_UNREACHABLE: 'META0003',
  DISCOVERY_TIMEOUT: 'META0003',
  DISCOVERY_HTTP11_ONLY: 'META0014',
  DISCOVERY_BAD_STATUS: 'META0003',
  DISCOVERY_BAD_CONTENT_TYPE: 'META0013',
  DISCOVERY_INVALID_MANIFEST: 'META0013',
  DISCOVERY_MANIFEST_TOO_LARGE: 'META0013',
  DISCOVERY_UNSUPPORTED_PROTOCOL_VERSION: 'META0012',
};

/**
 * A deployment could not be discovered. `restateCode` is the META code Restate reports for the
 * same failure; the admin API answers such failures with `httpStatus`: 500, as Restate does,
 * except 413 for an answer too large to be a manifest.
 */
export class DiscoveryError extends Error {
  readonly restateCode: string;
  readonly httpStatus: number;
  /** The endpoint's HTTP status, when it answered. */
  readonly status: number | undefined;

  constructor(
    readonly code: DiscoveryErrorCode,
    message: string,
    options: { status?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'DiscoveryError';
    this.restateCode = RESTATE_CODES[code];
    this.httpStatus = code === DiscoveryErrorCode.ManifestTooLarge ? 413 : 500;
    this.status = options.status;
  }
}
