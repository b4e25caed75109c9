/** The peer broke the protocol: bad framing, an unexpected message. */
export class ProtocolError extends Error {
  readonly code = 'PROTOCOL_VIOLATION';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProtocolError';
  }
}

/** The HTTP exchange with a deployment failed (connection, status, content type). */
export class TransportError extends Error {
  readonly code = 'TRANSPORT';
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TransportError';
  }
}

/** A deployment could not be discovered. */
export class DiscoveryError extends Error {
  readonly code = 'DISCOVERY';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DiscoveryError';
  }
}
