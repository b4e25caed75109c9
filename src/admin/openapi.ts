import type { HandlerSchema, ServiceSchema } from '../metadata/index.ts';

// The OpenAPI 3.1 document of a service's ingress endpoints, built from its handlers'
// declared content types and JSON schemas, as Restate's `GET /services/{service}/openapi`.

type Json = Record<string, unknown>;

function requestBody(h: HandlerSchema): Json | undefined {
  if (h.inputContentType === undefined) return undefined;
  const schema = h.inputJsonSchema ?? (h.inputContentType.includes('json') ? {} : { type: 'string', format: 'binary' });
  return { required: !h.acceptsEmptyInput, content: { [h.inputContentType]: { schema } } };
}

function okResponse(h: HandlerSchema): Json {
  if (h.outputContentType === undefined) return { description: 'Success, empty response' };
  const schema = h.outputJsonSchema ?? (h.outputContentType.includes('json') ? {} : { type: 'string', format: 'binary' });
  return { description: 'Success', content: { [h.outputContentType]: { schema } } };
}

const ERROR_RESPONSE = {
  description: 'Error',
  content: {
    'application/json': {
      schema: { type: 'object', properties: { code: { type: 'integer' }, message: { type: 'string' } }, required: ['message'] },
    },
  },
};

const SEND_RESPONSE = {
  description: 'Accepted',
  content: {
    'application/json': {
      schema: {
        type: 'object',
        properties: { invocationId: { type: 'string' }, status: { type: 'string', enum: ['Accepted', 'PreviouslyAccepted'] } },
        required: ['invocationId', 'status'],
      },
    },
  },
};

/** The OpenAPI document of a service's public handlers, call and send. */
export function serviceOpenApi(s: ServiceSchema): Json {
  const keyed = s.ty !== 'SERVICE';
  const keyParam = {
    name: 'key',
    in: 'path',
    required: true,
    description: s.ty === 'WORKFLOW' ? 'The workflow id' : 'The virtual object key',
    schema: { type: 'string' },
  };
  const idempotencyParam = { name: 'idempotency-key', in: 'header', required: false, schema: { type: 'string' } };
  const delayParam = {
    name: 'delay',
    in: 'query',
    required: false,
    description: 'Run after this delay (ISO 8601 or friendly format, e.g. 10s)',
    schema: { type: 'string' },
  };
  const paths: Json = {};
  for (const h of s.handlers.values()) {
    if (!h.public) continue;
    const base = keyed ? `/${s.name}/{key}/${h.name}` : `/${s.name}/${h.name}`;
    const params = keyed ? [keyParam, idempotencyParam] : [idempotencyParam];
    const body = requestBody(h);
    const common = { tags: [s.name], parameters: params, ...(body ? { requestBody: body } : {}) };
    paths[base] = {
      post: {
        ...common,
        operationId: h.name,
        summary: `Call ${h.name}`,
        ...(h.documentation !== undefined ? { description: h.documentation } : {}),
        responses: { '200': okResponse(h), default: ERROR_RESPONSE },
      },
    };
    paths[`${base}/send`] = {
      post: {
        ...common,
        parameters: [...params, delayParam],
        operationId: `${h.name}Send`,
        summary: `Send ${h.name}`,
        responses: { '202': SEND_RESPONSE, default: ERROR_RESPONSE },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: s.name,
      version: String(s.revision),
      ...(s.documentation !== undefined ? { description: s.documentation } : {}),
    },
    paths,
  };
}
