/** An error answered by the ingress with a status code and Restate's JSON body `{code, message}`. */
export class IngressError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Headers the answer carries besides the JSON ones. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'IngressError';
  }
}

export const badServicePath = () =>
  new IngressError(400, 'bad path, expected either /:service-name/:handler or /:object-name/:object-key/:handler');
export const serviceNotFound = (s: string) =>
  new IngressError(404, `service '${s}' not found, make sure to register the service before calling it.`);
export const handlerNotFound = (s: string, h: string) =>
  new IngressError(
    404,
    `the service '${s}' exists, but the handler '${h}' was not found, check that the handler exists in the latest registered service version.`,
  );

/**
 * Header of a 503 saying which partition this node does not lead: the node's forwarding layer
 * sends the request on to that partition's leader. Nothing was appended, so resending is safe.
 */
export const NOT_LEADER_HEADER = 'x-endure-not-leader-of';
