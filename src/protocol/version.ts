import { ProtocolError, ProtocolErrorCode } from './errors.ts';

/** Service protocol versions Endure speaks, lowest first. */
export const SUPPORTED_VERSIONS = [5, 6, 7] as const;
/** A service protocol version Endure speaks. */
export type ProtocolVersion = (typeof SUPPORTED_VERSIONS)[number];
/** Lowest service protocol version Endure speaks. */
export const MIN_PROTOCOL_VERSION: ProtocolVersion = SUPPORTED_VERSIONS[0];
/** Highest service protocol version Endure speaks. */
export const MAX_PROTOCOL_VERSION: ProtocolVersion = SUPPORTED_VERSIONS[SUPPORTED_VERSIONS.length - 1] as ProtocolVersion;

const CONTENT_TYPE_PREFIX = 'application/vnd.restate.invocation.v';

/** The content type that selects a protocol version on an invocation request. */
export function contentTypeFor(version: number): string {
  return `${CONTENT_TYPE_PREFIX}${version}`;
}

/** The protocol version a content type names, or undefined if it names none. */
export function versionOfContentType(contentType: string): number | undefined {
  const base = contentType.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  if (!base.startsWith(CONTENT_TYPE_PREFIX)) return undefined;
  const digits = base.slice(CONTENT_TYPE_PREFIX.length);
  return /^\d+$/.test(digits) ? Number(digits) : undefined;
}

/** Whether Endure speaks this protocol version. */
export function isSupportedVersion(version: number): version is ProtocolVersion {
  return (SUPPORTED_VERSIONS as readonly number[]).includes(version);
}

/**
 * The highest version both Endure and the deployment speak (the deployment's range comes from
 * its manifest). Throws a ProtocolError when the ranges do not overlap.
 */
export function negotiateVersion(deploymentMin: number, deploymentMax: number): ProtocolVersion {
  for (let i = SUPPORTED_VERSIONS.length - 1; i >= 0; i--) {
    const v = SUPPORTED_VERSIONS[i] as ProtocolVersion;
    if (v >= deploymentMin && v <= deploymentMax) return v;
  }
  throw new ProtocolError(
    ProtocolErrorCode.NoCommonVersion,
    `no common service protocol version: the deployment speaks ${deploymentMin}..${deploymentMax}, Endure ${MIN_PROTOCOL_VERSION}..${MAX_PROTOCOL_VERSION}`,
  );
}
