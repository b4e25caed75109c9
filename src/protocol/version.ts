import { ProtocolError } from './errors.ts';

/** Service protocol versions Endure speaks. */
export const SUPPORTED_VERSIONS = [5, 6] as const;
const MIN = 5;
const MAX = 6;

/** The content type that selects a protocol version. */
export function contentTypeFor(version: number): string {
  return `application/vnd.restate.invocation.v${version}`;
}

/** The highest version both we and the deployment speak. */
export function negotiateVersion(deploymentMin: number, deploymentMax: number): number {
  const v = Math.min(MAX, deploymentMax);
  if (v < Math.max(MIN, deploymentMin)) {
    throw new ProtocolError(
      `no common service protocol version: the deployment speaks ${deploymentMin}..${deploymentMax}, Endure ${MIN}..${MAX}`,
    );
  }
  return v;
}
