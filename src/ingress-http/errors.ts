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

export { NOT_LEADER_HEADER } from '../types/index.ts';
