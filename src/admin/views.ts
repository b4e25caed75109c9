import type { RetryConfig } from '../config/index.ts';
import type { DeploymentSchema, HandlerSchema, ServiceSchema } from '../metadata/index.ts';
import { friendlyDuration } from './duration.ts';

// The admin API's JSON bodies, with Restate's field names (crates/admin-rest-model and
// restate_types::schema::service::ServiceMetadata / HandlerMetadata).

/** Server defaults shown where a service does not override them. */
export interface ServiceDefaults {
  inactivityTimeoutMs: number;
  abortTimeoutMs: number;
  retry: RetryConfig;
}

/** Restate's default idempotency and workflow completion retention (1 day). */
const DEFAULT_RETENTION_MS = 86_400_000;

const SERVICE_TYPE = { SERVICE: 'Service', VIRTUAL_OBJECT: 'VirtualObject', WORKFLOW: 'Workflow' } as const;
const HANDLER_TYPE = { EXCLUSIVE: 'Exclusive', SHARED: 'Shared', WORKFLOW: 'Workflow' } as const;
const ON_MAX = { pause: 'Pause', kill: 'Kill' } as const;
const PROTOCOL_TYPE = { BIDI_STREAM: 'BidiStream', REQUEST_RESPONSE: 'RequestResponse' } as const;

type Json = Record<string, unknown>;

function withOptional(target: Json, key: string, value: unknown): void {
  if (value !== undefined) target[key] = value;
}

function jsonTitle(schema: unknown): string | undefined {
  if (schema !== null && typeof schema === 'object' && 'title' in schema) {
    const title = (schema as { title: unknown }).title;
    if (typeof title === 'string') return `JSON '${title}'`;
  }
  return undefined;
}

/** Restate's human description of a handler's accepted input. */
export function inputDescription(h: HandlerSchema): string {
  const rules: string[] = [];
  if (h.acceptsEmptyInput) rules.push('none');
  if (h.inputContentType !== undefined) rules.push(jsonTitle(h.inputJsonSchema) ?? h.inputContentType);
  if (rules.length === 0) return '<invalid rules>';
  if (rules.length === 1) return rules[0] as string;
  // Restate prints only the content type when the alternative is "none" (restate issue 2101).
  return rules[1] as string;
}

/** Restate's human description of a handler's output. */
export function outputDescription(h: HandlerSchema): string {
  if (h.outputContentType === undefined) return 'none';
  return jsonTitle(h.outputJsonSchema) ?? `${h.setContentTypeIfEmpty ? 'optional ' : ''}${h.outputContentType}`;
}

/** HandlerMetadata. */
export function handlerView(h: HandlerSchema): Json {
  const o = h.options;
  const view: Json = { name: h.name };
  withOptional(view, 'ty', h.ty !== undefined ? HANDLER_TYPE[h.ty] : undefined);
  withOptional(view, 'documentation', h.documentation);
  if (Object.keys(h.metadata).length > 0) view.metadata = h.metadata;
  const ms = (v: number | undefined) => (v !== undefined ? friendlyDuration(v) : undefined);
  withOptional(view, 'idempotency_retention', ms(o.idempotencyRetentionMs));
  withOptional(view, 'journal_retention', ms(o.journalRetentionMs));
  withOptional(view, 'inactivity_timeout', ms(o.inactivityTimeoutMs));
  withOptional(view, 'abort_timeout', ms(o.abortTimeoutMs));
  withOptional(view, 'enable_lazy_state', o.enableLazyState);
  view.public = h.public;
  view.input_description = inputDescription(h);
  view.output_description = outputDescription(h);
  withOptional(view, 'input_json_schema', h.inputJsonSchema);
  withOptional(view, 'output_json_schema', h.outputJsonSchema);
  const retry: Json = {};
  withOptional(retry, 'initial_interval', ms(o.retryPolicy.initialIntervalMs));
  withOptional(retry, 'exponentiation_factor', o.retryPolicy.exponentiationFactor);
  retry.max_attempts = o.retryPolicy.maxAttempts ?? null;
  withOptional(retry, 'max_interval', ms(o.retryPolicy.maxIntervalMs));
  withOptional(retry, 'on_max_attempts', o.retryPolicy.onMaxAttempts !== undefined ? ON_MAX[o.retryPolicy.onMaxAttempts] : undefined);
  view.retry_policy = retry;
  return view;
}

/** ServiceMetadata: the active revision, with server defaults filled in as Restate does. */
export function serviceView(s: ServiceSchema, defaults: ServiceDefaults): Json {
  const o = s.options;
  const r = o.retryPolicy;
  const view: Json = {
    name: s.name,
    ty: SERVICE_TYPE[s.ty],
    handlers: [...s.handlers.values()].map(handlerView),
  };
  withOptional(view, 'documentation', s.documentation);
  if (Object.keys(s.metadata).length > 0) view.metadata = s.metadata;
  view.deployment_id = s.deploymentId;
  view.revision = s.revision;
  view.public = s.public;
  view.idempotency_retention = friendlyDuration(o.idempotencyRetentionMs ?? DEFAULT_RETENTION_MS);
  if (s.ty === 'WORKFLOW') {
    const wf = [...s.handlers.values()].find((h) => h.ty === 'WORKFLOW');
    view.workflow_completion_retention = friendlyDuration(
      wf?.options.workflowCompletionRetentionMs ?? o.workflowCompletionRetentionMs ?? DEFAULT_RETENTION_MS,
    );
  }
  view.journal_retention = friendlyDuration(o.journalRetentionMs ?? DEFAULT_RETENTION_MS);
  view.inactivity_timeout = friendlyDuration(o.inactivityTimeoutMs ?? defaults.inactivityTimeoutMs);
  view.abort_timeout = friendlyDuration(o.abortTimeoutMs ?? defaults.abortTimeoutMs);
  view.enable_lazy_state = o.enableLazyState === true;
  view.retry_policy = {
    initial_interval: friendlyDuration(r.initialIntervalMs ?? defaults.retry.initialIntervalMs),
    exponentiation_factor: r.exponentiationFactor ?? defaults.retry.factor,
    max_attempts: r.maxAttempts ?? defaults.retry.maxAttempts,
    max_interval: friendlyDuration(r.maxIntervalMs ?? defaults.retry.maxIntervalMs),
    on_max_attempts: ON_MAX[r.onMaxAttempts ?? defaults.retry.onMaxAttempts],
  };
  return view;
}

function deploymentBase(d: DeploymentSchema): Json {
  const view: Json = {
    id: d.id,
    uri: d.url,
    protocol_type: PROTOCOL_TYPE[d.protocolMode],
    http_version: d.useHttp11 ? 'HTTP/1.1' : 'HTTP/2.0',
  };
  if (Object.keys(d.additionalHeaders).length > 0) view.additional_headers = d.additionalHeaders;
  if (Object.keys(d.metadata).length > 0) view.metadata = d.metadata;
  view.created_at = new Date(d.createdAt).toISOString();
  view.min_protocol_version = d.minProtocolVersion;
  view.max_protocol_version = d.maxProtocolVersion;
  withOptional(view, 'sdk_version', d.sdkVersion);
  return view;
}

/** DeploymentResponse (list entry): services as name/revision pairs. */
export function deploymentView(d: DeploymentSchema, services: readonly ServiceSchema[]): Json {
  return { ...deploymentBase(d), services: services.map((s) => ({ name: s.name, revision: s.revision })) };
}

/** DetailedDeploymentResponse: services in full. */
export function detailedDeploymentView(
  d: DeploymentSchema,
  services: readonly ServiceSchema[],
  defaults: ServiceDefaults,
): Json {
  return { ...deploymentBase(d), services: services.map((s) => serviceView(s, defaults)) };
}

/** RegisterDeploymentResponse. */
export function registerView(d: DeploymentSchema, services: readonly ServiceSchema[], defaults: ServiceDefaults): Json {
  const view: Json = {
    id: d.id,
    services: services.map((s) => serviceView(s, defaults)),
    min_protocol_version: d.minProtocolVersion,
    max_protocol_version: d.maxProtocolVersion,
  };
  withOptional(view, 'sdk_version', d.sdkVersion);
  return view;
}
