import { MetadataError, MetadataErrorCode } from './errors.ts';
import { HANDLER_TYPES, SERVICE_TYPES } from './manifest.ts';
import type { HandlerManifest, HandlerType, ManifestOptions, ServiceManifest } from './manifest.ts';
import type { HandlerOptions, HandlerSchema, RetryPolicyOverrides, ServiceOptions, ServiceSchema } from './schema.ts';

// Turns a discovered service into the schema the registry serves, with the checks Restate's
// schema updater performs (reserved names, service/handler type combinations, retention
// options, handler visibility, content types). A bad manifest is rejected as a whole.

const invalid = (message: string): MetadataError => new MetadataError(MetadataErrorCode.InvalidManifest, message);

/** Rejects service names Restate reserves (`restate*`, `openapi`). */
export function validateServiceName(name: string): void {
  const lower = name.toLowerCase();
  if (lower.startsWith('restate') || lower === 'openapi') {
    throw new MetadataError(
      MetadataErrorCode.ReservedServiceName,
      `cannot insert/modify service '${name}' as it contains a reserved name`,
    );
  }
  if (name.length === 0 || /[/\s]/.test(name)) throw invalid(`invalid service name '${name}'`);
}

function optionalMs(owner: string, field: string, value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw invalid(`${owner}: ${field} must be a non-negative number of milliseconds, got ${JSON.stringify(value)}`);
  }
  return value;
}

function retryPolicy(owner: string, m: ManifestOptions): RetryPolicyOverrides {
  const r: RetryPolicyOverrides = {};
  const initial = optionalMs(owner, 'retryPolicyInitialInterval', m.retryPolicyInitialInterval);
  if (initial !== undefined) r.initialIntervalMs = initial;
  const max = optionalMs(owner, 'retryPolicyMaxInterval', m.retryPolicyMaxInterval);
  if (max !== undefined) r.maxIntervalMs = max;
  if (m.retryPolicyMaxAttempts !== undefined) r.maxAttempts = Math.max(1, Math.floor(m.retryPolicyMaxAttempts));
  if (m.retryPolicyExponentiationFactor !== undefined) r.exponentiationFactor = m.retryPolicyExponentiationFactor;
  if (m.retryPolicyOnMaxAttempts !== undefined) {
    if (m.retryPolicyOnMaxAttempts !== 'PAUSE' && m.retryPolicyOnMaxAttempts !== 'KILL') {
      throw invalid(`${owner}: unknown retryPolicyOnMaxAttempts ${JSON.stringify(m.retryPolicyOnMaxAttempts)}`);
    }
    r.onMaxAttempts = m.retryPolicyOnMaxAttempts === 'PAUSE' ? 'pause' : 'kill';
  }
  return r;
}

function serviceOptions(owner: string, m: ManifestOptions): ServiceOptions {
  const o: ServiceOptions = { retryPolicy: retryPolicy(owner, m) };
  const set = <K extends keyof ServiceOptions>(key: K, value: ServiceOptions[K] | undefined): void => {
    if (value !== undefined) o[key] = value;
  };
  set('inactivityTimeoutMs', optionalMs(owner, 'inactivityTimeout', m.inactivityTimeout));
  set('abortTimeoutMs', optionalMs(owner, 'abortTimeout', m.abortTimeout));
  set('journalRetentionMs', optionalMs(owner, 'journalRetention', m.journalRetention));
  set('idempotencyRetentionMs', optionalMs(owner, 'idempotencyRetention', m.idempotencyRetention));
  if (m.enableLazyState !== undefined) o.enableLazyState = m.enableLazyState;
  return o;
}

/** Resolves the handler type the way Restate does; a bad combination is an error. */
function handlerType(service: ServiceManifest, h: HandlerManifest): HandlerType | undefined {
  if (h.ty !== undefined && !HANDLER_TYPES.includes(h.ty)) {
    throw invalid(`${service.name}/${h.name}: unknown handler type ${JSON.stringify(h.ty)}`);
  }
  switch (service.ty) {
    case 'SERVICE':
      if (h.ty === undefined || h.ty === 'SHARED') return undefined;
      break;
    case 'VIRTUAL_OBJECT':
      if (h.ty === undefined || h.ty === 'EXCLUSIVE') return 'EXCLUSIVE';
      if (h.ty === 'SHARED') return 'SHARED';
      break;
    case 'WORKFLOW':
      if (h.ty === undefined || h.ty === 'SHARED') return 'SHARED';
      if (h.ty === 'WORKFLOW') return 'WORKFLOW';
      break;
  }
  throw invalid(`invalid combination of service type and handler type '(${service.ty}, ${h.ty ?? 'none'})'`);
}

/** Validates an input content type: `*\/*`, `type/*` or `type/subtype` (parameters dropped). */
function inputContentType(owner: string, raw: string): string {
  const ct = (raw.split(';')[0] as string).trim();
  const slash = ct.indexOf('/');
  if (slash <= 0 || slash === ct.length - 1 || ct.indexOf('/', slash + 1) !== -1) {
    throw invalid(`the handler '${owner}' input content-type is not valid: can't parse the content-type '${raw}'`);
  }
  if (ct.startsWith('*/') && ct !== '*/*') {
    throw invalid(
      `the handler '${owner}' input content-type is not valid: the wildcard format */subType is not supported`,
    );
  }
  return ct.toLowerCase();
}

function buildHandler(service: ServiceManifest, servicePublic: boolean, h: HandlerManifest): HandlerSchema {
  const owner = `${service.name}/${h.name}`;
  if (typeof h.name !== 'string' || h.name.length === 0 || /[/\s]/.test(h.name)) {
    throw invalid(`${service.name}: invalid handler name ${JSON.stringify(h.name)}`);
  }
  const ty = handlerType(service, h);
  const options: HandlerOptions = serviceOptions(owner, h);
  const wfRetention = optionalMs(owner, 'workflowCompletionRetention', h.workflowCompletionRetention);
  if (wfRetention !== undefined) {
    if (ty !== 'WORKFLOW') throw invalid(`${owner} sets the workflow_completion_retention, but it's not a Workflow handler`);
    options.workflowCompletionRetentionMs = wfRetention;
  }
  if (options.idempotencyRetentionMs !== undefined && ty === 'WORKFLOW') {
    throw invalid(`${owner} sets the idempotency_retention, but it's a Workflow handler`);
  }
  if (!servicePublic && h.ingressPrivate === false) {
    throw invalid(
      `The service ${service.name} is private, but the ${h.name} is explicitly set as public. This is not supported. Please make the service public, and hide the individual handlers`,
    );
  }

  // Input: no declaration accepts anything (empty, or any content type), as Restate does.
  let acceptsEmptyInput = true;
  let inputCt: string | undefined = '*/*';
  let inputJsonSchema: unknown;
  if (h.input !== undefined) {
    acceptsEmptyInput = h.input.required !== true;
    inputCt = h.input.contentType !== undefined ? inputContentType(owner, h.input.contentType) : undefined;
    if (inputCt !== undefined && h.input.jsonSchema !== undefined) inputJsonSchema = h.input.jsonSchema;
  }
  // Output: no declaration means JSON, set only when the output is not empty.
  let outputCt: string | undefined = 'application/json';
  let setContentTypeIfEmpty = false;
  let outputJsonSchema: unknown;
  if (h.output !== undefined) {
    outputCt = h.output.contentType;
    setContentTypeIfEmpty = outputCt !== undefined && h.output.setContentTypeIfEmpty === true;
    if (outputCt !== undefined && /[\r\n]/.test(outputCt)) throw invalid(`the handler '${owner}' output content-type is not valid`);
    if (outputCt !== undefined) outputJsonSchema = h.output.jsonSchema;
  }

  const schema: HandlerSchema = {
    name: h.name,
    ty,
    public: h.ingressPrivate !== undefined ? !h.ingressPrivate : servicePublic,
    ...(h.ingressPrivate !== undefined ? { ingressPrivate: h.ingressPrivate } : {}),
    ...(h.documentation !== undefined ? { documentation: h.documentation } : {}),
    metadata: { ...(h.metadata ?? {}) },
    acceptsEmptyInput,
    ...(inputCt !== undefined ? { inputContentType: inputCt } : {}),
    ...(inputJsonSchema !== undefined ? { inputJsonSchema } : {}),
    ...(outputCt !== undefined ? { outputContentType: outputCt } : {}),
    setContentTypeIfEmpty,
    ...(outputJsonSchema !== undefined ? { outputJsonSchema } : {}),
    options,
  };
  return schema;
}

/** Builds the schema of one discovered service at the given revision. */
export function buildService(m: ServiceManifest, revision: number, deploymentId: string): ServiceSchema {
  if (typeof m.name !== 'string') throw invalid(`service without a name`);
  validateServiceName(m.name);
  if (!SERVICE_TYPES.includes(m.ty)) throw invalid(`${m.name}: unknown service type ${JSON.stringify(m.ty)}`);
  if (!Array.isArray(m.handlers)) throw invalid(`${m.name}: handlers must be an array`);
  const isPublic = m.ingressPrivate !== true;
  const handlers = new Map<string, HandlerSchema>();
  for (const h of m.handlers) {
    if (handlers.has(h.name)) throw invalid(`${m.name}: duplicate handler '${h.name}'`);
    handlers.set(h.name, buildHandler(m, isPublic, h));
  }
  return {
    name: m.name,
    ty: m.ty,
    revision,
    deploymentId,
    handlers,
    public: isPublic,
    ...(m.documentation !== undefined ? { documentation: m.documentation } : {}),
    metadata: { ...(m.metadata ?? {}) },
    options: serviceOptions(m.name, m),
  };
}
