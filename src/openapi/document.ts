// GET /openapi.json: an OpenAPI 3.1 document built from the app's own routes and the zod schemas its
// validators use (openapi/describe.ts), and from the error catalog (http/errors.ts), so there is no
// second copy of the rules to drift. Checked by test/openapi.test.ts, and from the outside by Redocly's
// strict ruleset and a client generated with openapi-typescript (test/integrator, npm run check).
import type { Hono } from 'hono';
import * as z from 'zod/mini';
import type { $ZodType } from 'zod/v4/core';
import type { AppEnv } from '../http/env.ts';
import { ERRORS, type ErrorCode } from '../http/errors.ts';
import { IDEMPOTENCY_HEADER } from '../idempotency/idempotency-key.ts';
import { type OperationDoc, type OperationPart, partOf, type ResponseDoc } from './describe.ts';
import { ERROR_EXAMPLES, EXAMPLE_TIMESTAMP, OPERATION_EXAMPLES, type OperationExamples } from './examples.ts';
import { DELIVERY_HEADERS, RECEIVING_TAG, webhooksSection } from './webhooks-section.ts';

type JsonSchema = Record<string, unknown>;

/** Errors any operation can answer with (the loop guard runs before every route: app.ts). */
const ALWAYS: ErrorCode[] = ['DELIVERY_LOOP_REFUSED', 'INTERNAL_ERROR'];

const schemaRef = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const headerRef = (name: string) => ({ $ref: `#/components/headers/${name}` });

/** The component that describes an error with `code`: VALIDATION_ERROR → ValidationError, CONFLICT → ConflictError. */
export function errorSchemaName(code: ErrorCode): string {
  const name = code
    .toLowerCase()
    .split('_')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
  return name.endsWith('Error') ? name : `${name}Error`;
}

/** `$ref`s into the schema's own $defs, pointed at the document's components instead. */
function componentRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(componentRefs);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [
      key,
      key === '$ref' && typeof item === 'string'
        ? item.replace('#/$defs/', '#/components/schemas/')
        : componentRefs(item),
    ]),
  );
}

/** zod → JSON Schema 2020-12, with named schemas (meta id) moved to the document's components. */
function toSchema(schema: $ZodType, io: 'input' | 'output', components: Record<string, JsonSchema>): JsonSchema {
  const json = componentRefs(z.toJSONSchema(schema, { io, unrepresentable: 'any' })) as JsonSchema & {
    $defs?: Record<string, JsonSchema>;
  };
  const { $schema: _dialect, $defs, ...rest } = json;
  Object.assign(components, $defs);
  return rest;
}

const timestamp = { type: 'string', format: 'date-time' };

function envelope(data: JsonSchema | undefined): JsonSchema {
  return {
    type: 'object',
    required: ['success', 'data', 'error', 'timestamp'],
    properties: { success: { type: 'boolean', const: true }, data: data ?? {}, error: { type: 'null' }, timestamp },
  };
}

const successExample = (data: unknown) => ({ success: true, data, error: null, timestamp: EXAMPLE_TIMESTAMP });
const errorExample = (code: ErrorCode) => ({
  success: false,
  data: null,
  error: { code, ...ERROR_EXAMPLES[code] },
  timestamp: EXAMPLE_TIMESTAMP,
});

/** The error object of one code: its `code`, a message for people, and its details. */
function errorSchema(code: ErrorCode, components: Record<string, JsonSchema>): JsonSchema {
  return {
    type: 'object',
    description: ERRORS[code].description,
    required: ['code', 'message', 'details'],
    properties: {
      code: { type: 'string', const: code },
      message: { type: 'string', description: 'For people; may change. Match on code.' },
      details: toSchema(ERRORS[code].details, 'output', components),
    },
    additionalProperties: false,
  };
}

/** One of `codes`, told apart by `code`. */
function oneOfErrors(codes: ErrorCode[]): JsonSchema {
  if (codes.length === 1) return schemaRef(errorSchemaName(codes[0] as ErrorCode));
  return {
    oneOf: codes.map((code) => schemaRef(errorSchemaName(code))),
    discriminator: {
      propertyName: 'code',
      mapping: Object.fromEntries(codes.map((code) => [code, `#/components/schemas/${errorSchemaName(code)}`])),
    },
  };
}

/** Headers the service sends, beyond the body's own Content-Type. */
const RESPONSE_HEADERS: Record<string, JsonSchema> = {
  RequestId: {
    description: 'The request id, minted by the service for every response; quote it when reporting a problem',
    required: true,
    schema: { type: 'string', format: 'uuid' },
    example: '0f0bb8a1-7cde-4a8e-9f61-2a4d1c9e5b30',
  },
  RetryAfter: {
    description: 'Seconds to wait before sending the request again (the same as details.retryAfter)',
    required: true,
    schema: { type: 'string', pattern: '^[1-9][0-9]{0,4}$' },
    example: '60',
  },
  WwwAuthenticate: {
    description:
      'The Bearer challenge (RFC 6750): `Bearer realm="InstaView"`, with `error="invalid_token"` when a key was sent',
    required: true,
    schema: { type: 'string' },
    example: 'Bearer realm="InstaView", error="invalid_token"',
  },
  IdempotentReplayed: {
    description: '`true` when this is the stored first response to the same Idempotency-Key and body; absent otherwise',
    required: false,
    schema: { type: 'string', const: 'true' },
    example: 'true',
  },
  OriginalRequestId: {
    description: 'With Idempotent-Replayed: the X-Request-Id of the request that was first answered this way',
    required: false,
    schema: { type: 'string', format: 'uuid' },
    example: '7d1e0c52-31a4-4f0e-8a3b-5b6c7d8e9f01',
  },
};

/** The headers an error response with `status` carries. */
function errorHeaders(status: number): JsonSchema {
  return {
    'X-Request-Id': headerRef('RequestId'),
    ...(status === 401 ? { 'WWW-Authenticate': headerRef('WwwAuthenticate') } : {}),
    ...(status === 429 || status === 503 ? { 'Retry-After': headerRef('RetryAfter') } : {}),
  };
}

function examplesOf(operation: OperationDoc): OperationExamples {
  const examples = OPERATION_EXAMPLES[operation.operationId];
  if (!examples) throw new Error(`openapi/examples.ts has no examples for ${operation.operationId}`);
  return examples;
}

/** A success response: the envelope with its example (or no body: a 204), and the headers it carries. */
function successResponse(
  status: string,
  response: ResponseDoc,
  operation: OperationDoc,
  idempotent: boolean,
  components: Record<string, JsonSchema>,
): JsonSchema {
  const headers: JsonSchema = { 'X-Request-Id': headerRef('RequestId') };
  for (const [name, description] of Object.entries(response.headers ?? {})) {
    headers[name] = { description, required: true, schema: { type: 'string' }, example: '"1"' };
  }
  if (idempotent) {
    headers['Idempotent-Replayed'] = headerRef('IdempotentReplayed');
    headers['Original-Request-Id'] = headerRef('OriginalRequestId');
  }
  if (!response.data) return { description: response.description, headers };
  const example = examplesOf(operation).responses[Number(status)];
  if (example === undefined)
    throw new Error(`openapi/examples.ts has no ${status} example for ${operation.operationId}`);
  return {
    description: response.description,
    headers,
    content: {
      'application/json': {
        schema: envelope(toSchema(response.data, 'output', components)),
        example: successExample(example),
      },
    },
  };
}

function operationObject(
  method: string,
  operation: OperationDoc,
  parts: OperationPart[],
  components: Record<string, JsonSchema>,
  answered: Set<ErrorCode>,
): JsonSchema {
  const scope = parts.find((part) => part.scope)?.scope;
  const publisher = parts.some((part) => part.publisher);
  const bodyParts = parts.filter((part) => part.body);
  const bodySchema = bodyParts.find((part) => part.body?.schema)?.body?.schema;
  const bodyRequired = bodyParts.find((part) => part.body?.required !== undefined)?.body?.required ?? true;
  const query = parts.find((part) => part.query)?.query;
  const idempotent = parts.some((part) => part.idempotent);
  const codes = [...new Set([...parts.flatMap((part) => part.errors ?? []), ...(operation.errors ?? []), ...ALWAYS])];

  const parameters: JsonSchema[] = Object.entries(operation.params ?? {}).map(([name, description]) => ({
    name,
    in: 'path',
    required: true,
    description,
    schema: { type: 'string', format: 'uuid' },
  }));
  if (query) {
    // The output side: what each parameter means (an integer, a boolean), which is also how a client
    // writes it in a URL (`limit=20`, `isActive=true`).
    const schema = toSchema(query, 'output', components) as {
      properties?: Record<string, JsonSchema>;
      required?: string[];
    };
    for (const [name, property] of Object.entries(schema.properties ?? {})) {
      const { description, ...rest } = property;
      parameters.push({
        name,
        in: 'query',
        required: schema.required?.includes(name) ?? false,
        ...(typeof description === 'string' ? { description } : {}),
        schema: rest,
      });
    }
  }
  for (const [name, header] of Object.entries(operation.headers ?? {})) {
    parameters.push({
      name,
      in: 'header',
      required: false,
      description: header.description,
      // No example: the reference page would fill it in and send it with every try.
      schema: { type: 'string' },
    });
  }
  if (idempotent) {
    parameters.push({
      name: IDEMPOTENCY_HEADER,
      in: 'header',
      required: false,
      description:
        'Makes the request safe to retry for 24 hours: the same key with the same body replays the first response',
      // An example here would be sent by every try from the reference page, replaying the first answer.
      schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x20-\\x7e]+$' },
    });
  }

  const responses: JsonSchema = {};
  for (const [status, response] of Object.entries(operation.responses)) {
    responses[status] = successResponse(status, response, operation, idempotent, components);
  }
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) answered.add(code);
  for (const code of codes) byStatus.set(ERRORS[code].status, [...(byStatus.get(ERRORS[code].status) ?? []), code]);
  for (const [status, statusCodes] of [...byStatus].sort(([a], [b]) => a - b)) {
    responses[String(status)] = {
      description: statusCodes.map((code) => `${code}: ${ERRORS[code].description}`).join('; '),
      headers: errorHeaders(status),
      content: {
        'application/json': {
          // The one envelope, its error narrowed to the codes this operation answers with at this status.
          schema: {
            allOf: [
              schemaRef('ErrorEnvelope'),
              { type: 'object', required: ['error'], properties: { error: oneOfErrors(statusCodes) } },
            ],
          },
          examples: Object.fromEntries(
            statusCodes.map((code) => [code, { $ref: `#/components/examples/${errorSchemaName(code)}` }]),
          ),
        },
      },
    };
  }

  const body =
    bodyParts.length > 0 && method !== 'get'
      ? {
          requestBody: {
            required: bodyRequired,
            content: {
              'application/json': {
                schema: bodySchema ? toSchema(bodySchema, 'output', components) : { type: 'object' },
                example: examplesOf(operation).request,
              },
            },
          },
        }
      : {};
  if (body.requestBody && examplesOf(operation).request === undefined) {
    throw new Error(`openapi/examples.ts has no request example for ${operation.operationId}`);
  }

  return {
    operationId: operation.operationId,
    summary: operation.summary,
    ...(operation.description ? { description: operation.description } : {}),
    tags: operation.tags,
    security: scope ? [{ ApiKey: [scope] }] : publisher ? [{ PublishToken: [] }] : [],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...body,
    responses,
  };
}

/** The error components: one per code, their union, and the envelope every error response is. */
function errorComponents(components: Record<string, JsonSchema>): Record<string, JsonSchema> {
  const codes = Object.keys(ERRORS) as ErrorCode[];
  return {
    ...Object.fromEntries(codes.map((code) => [errorSchemaName(code), errorSchema(code, components)])),
    ApiError: { description: 'Any error the API answers with, told apart by code', ...oneOfErrors(codes) },
    ErrorEnvelope: {
      type: 'object',
      description: 'Every error response: success false, no data, the error with its code and typed details',
      required: ['success', 'data', 'error', 'timestamp'],
      properties: {
        success: { type: 'boolean', const: false },
        data: { type: 'null' },
        error: schemaRef('ApiError'),
        timestamp,
      },
      additionalProperties: false,
    },
  };
}

/** The document for `app`: every routed operation that carries a `describe`, and nothing else. */
export function buildOpenApiDocument(app: Hono<AppEnv>, info: { version: string }): JsonSchema {
  const operations = new Map<string, { method: string; path: string; parts: OperationPart[] }>();
  for (const route of app.routes) {
    if (route.method === 'ALL') continue;
    const key = `${route.method} ${route.path}`;
    const entry = operations.get(key) ?? { method: route.method.toLowerCase(), path: route.path, parts: [] };
    const part = partOf(route.handler);
    if (part) entry.parts.push(part);
    operations.set(key, entry);
  }
  const components: Record<string, JsonSchema> = {};
  /** The codes some operation answers with: only their examples are components (redocly: no unused ones). */
  const answered = new Set<ErrorCode>();
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const { method, path, parts } of operations.values()) {
    const operation = parts.find((part) => part.operation)?.operation;
    if (!operation) continue;
    const openApiPath = path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    paths[openApiPath] ??= {};
    (paths[openApiPath] as Record<string, JsonSchema>)[method] = operationObject(
      method,
      operation,
      parts,
      components,
      answered,
    );
  }
  const errors = errorComponents(components);
  const codes = Object.keys(ERRORS) as ErrorCode[];
  return {
    openapi: '3.1.0',
    info: {
      title: 'InstaView webhooks API',
      version: info.version,
      license: {
        name: 'Proprietary: for InstaView customers under their agreement',
        identifier: 'LicenseRef-InstaView',
      },
      description:
        'Register HTTPS endpoints for signed, real-time event notifications. Authenticate with an API key: ' +
        '`Authorization: Bearer sk_…`. Every response is a JSON envelope `{success, data, error, timestamp}` with an ' +
        '`X-Request-Id` header; an error carries a `code` and `details` whose shape each code defines ' +
        '(components ApiError and ErrorEnvelope):\n\n' +
        codes.map((code) => `- \`${code}\` (${ERRORS[code].status}): ${ERRORS[code].description}`).join('\n'),
    },
    servers: [{ url: '/', description: 'The server this document is served from' }],
    security: [{ ApiKey: [] }],
    tags: [
      { name: 'Webhooks', description: 'The webhook resource' },
      { name: 'Deliveries', description: 'Test a webhook, read its delivery log, send again' },
      { name: 'Events', description: 'For InstaView’s own systems: publish an event to deliver' },
      RECEIVING_TAG,
    ],
    paths,
    webhooks: webhooksSection(),
    components: {
      securitySchemes: {
        ApiKey: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'sk_ followed by 43 characters',
          description: 'An API key; each route names the scope it needs (write:webhooks or read:webhooks)',
        },
        PublishToken: {
          type: 'http',
          scheme: 'bearer',
          description: 'The operator token (EVENTS_PUBLISH_TOKEN) with which InstaView’s own systems publish events',
        },
      },
      headers: RESPONSE_HEADERS,
      parameters: DELIVERY_HEADERS,
      examples: Object.fromEntries(
        [...answered].sort().map((code) => [errorSchemaName(code), { summary: code, value: errorExample(code) }]),
      ),
      schemas: { ...components, ...errors },
    },
  };
}
