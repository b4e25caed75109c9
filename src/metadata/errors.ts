/** Stable codes of schema registry errors. */
export const MetadataErrorCode = {
  DeploymentNotFound: 'DEPLOYMENT_NOT_FOUND',
  ServiceNotFound: 'SERVICE_NOT_FOUND',
  HandlerNotFound: 'HANDLER_NOT_FOUND',
  InvalidManifest: 'INVALID_MANIFEST',
  ReservedServiceName: 'RESERVED_SERVICE_NAME',
  ServiceTypeChanged: 'SERVICE_TYPE_CHANGED',
  DeploymentExists: 'DEPLOYMENT_EXISTS',
} as const;
/** A schema registry error code. */
export type MetadataErrorCode = (typeof MetadataErrorCode)[keyof typeof MetadataErrorCode];

const STATUS: Record<MetadataErrorCode, number> = {
  DEPLOYMENT_NOT_FOUND: 404,
  SERVICE_NOT_FOUND: 404,
  HANDLER_NOT_FOUND: 404,
  INVALID_MANIFEST: 400,
  RESERVED_SERVICE_NAME: 400,
  SERVICE_TYPE_CHANGED: 409,
  DEPLOYMENT_EXISTS: 409,
};

/** Restate's documented error codes, where one exists (restate_code in admin responses). */
const RESTATE_CODE: Partial<Record<MetadataErrorCode, string>> = {
  RESERVED_SERVICE_NAME: 'META0005',
  SERVICE_TYPE_CHANGED: 'META0006',
};

/** An error of the schema registry; `status` is the HTTP status the admin API answers with. */
export class MetadataError extends Error {
  readonly status: number;
  readonly restateCode: string | undefined;

  constructor(
    readonly code: MetadataErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MetadataError';
    this.status = STATUS[code];
    this.restateCode = RESTATE_CODE[code];
  }
}
