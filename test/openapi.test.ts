import { Validator } from '@cfworker/json-schema';
import { describe, expect, it } from 'vitest';
import { app } from '../src/app.ts';
import { WEBHOOK_EVENTS } from '../src/events/event-types.ts';
import { ERRORS, type ErrorCode } from '../src/http/errors.ts';
import { buildOpenApiDocument, errorSchemaName } from '../src/openapi/document.ts';
import { API_VERSION, SERVICE_PATHS } from '../src/openapi/routes.ts';
import { API_ORIGIN, throughWorker, validBody } from './support/api.ts';
import { createTestAccount } from './support/fixtures.ts';
import { openApiDocument } from './support/openapi.ts';
import { call, data } from './support/routes.ts';

type Json = Record<string, unknown>;
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

interface MediaType {
  schema?: Json;
  example?: unknown;
  examples?: Record<string, { $ref?: string; value?: unknown }>;
}
interface Operation {
  operationId: string;
  security?: Json[];
  parameters?: (Json & { $ref?: string })[];
  requestBody?: { content: Record<string, MediaType> };
  responses: Record<string, { content?: Record<string, MediaType>; headers?: Record<string, Json> }>;
}
interface FullDocument {
  openapi: string;
  info: Json & { description: string; license?: Json };
  servers?: Json[];
  security?: Json[];
  paths: Record<string, Record<string, Operation>>;
  webhooks: Record<string, { post: Operation }>;
  components: { schemas: Record<string, Json>; examples: Record<string, { value: unknown }>; headers: Json };
}

const fullDocument = async () => (await openApiDocument(API_ORIGIN)) as unknown as FullDocument;

function operationsOf(document: FullDocument): [string, Operation][] {
  return [
    ...Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.entries(operations)
        .filter(([method]) => METHODS.includes(method))
        .map(([method, operation]): [string, Operation] => [`${method.toUpperCase()} ${path}`, operation]),
    ),
    ...Object.entries(document.webhooks).map(([event, { post }]): [string, Operation] => [`webhook ${event}`, post]),
  ];
}

/** Every example in the document, with the schema it must validate against. */
function examplesOf(document: FullDocument): { where: string; schema: Json; value: unknown }[] {
  const found: { where: string; schema: Json; value: unknown }[] = [];
  const add = (where: string, media: MediaType | undefined) => {
    if (!media?.schema) return;
    if (media.example !== undefined) found.push({ where, schema: media.schema, value: media.example });
    for (const [name, example] of Object.entries(media.examples ?? {})) {
      const value = example.$ref
        ? document.components.examples[example.$ref.split('/').at(-1) ?? '']?.value
        : example.value;
      found.push({ where: `${where} (${name})`, schema: media.schema, value });
    }
  };
  for (const [name, operation] of operationsOf(document)) {
    add(`${name} request`, operation.requestBody?.content['application/json']);
    for (const [status, response] of Object.entries(operation.responses)) {
      add(`${name} ${status}`, response.content?.['application/json']);
    }
  }
  return found;
}

const validates = (document: FullDocument, schema: Json, value: unknown) =>
  new Validator({ ...schema, components: document.components } as never, '2020-12', false).validate(value).errors;

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document, served without credentials, with a request id like every response', async () => {
    const response = await throughWorker(new Request(`${API_ORIGIN}/openapi.json`));
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toMatch(/^application\/json/);
    expect(response.headers.get('X-Request-Id')).toMatch(/^[0-9a-f-]{36}$/);
    const document = (await response.json()) as Json;
    expect(document.openapi).toBe('3.1.0');
  });

  it('is the document this app’s routes build (public/openapi.json is never stale)', async () => {
    const served = await openApiDocument(API_ORIGIN);
    expect(served).toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument(app, { version: API_VERSION }))));
  });

  it('describes every route of the API, and not the service’s own (the document, the page, its script, health)', async () => {
    const document = await openApiDocument(API_ORIGIN);
    const served = new Set(
      app.routes
        .filter((route) => route.method !== 'ALL' && !(SERVICE_PATHS as readonly string[]).includes(route.path))
        .map((route) => `${route.method.toLowerCase()} ${route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`),
    );
    const documented = new Set(
      Object.entries(document.paths).flatMap(([path, operations]) =>
        Object.keys(operations)
          .filter((method) => METHODS.includes(method))
          .map((method) => `${method} ${path}`),
      ),
    );
    expect([...documented].sort()).toEqual([...served].sort());
    expect(served.size).toBeGreaterThanOrEqual(13);
    for (const path of SERVICE_PATHS)
      expect(
        app.routes.some((route) => route.path === path),
        path,
      ).toBe(true);
  });

  it('has a license, a server, and API-key security unless an operation says otherwise', async () => {
    const document = await fullDocument();
    expect(document.info.license).toMatchObject({ name: expect.any(String), identifier: expect.any(String) });
    expect(document.servers).toEqual([{ url: '/', description: expect.any(String) }]);
    expect(document.security).toEqual([{ ApiKey: [] }]);
    expect(document.paths['/events']?.post?.security).toEqual([{ PublishToken: [] }]);
    expect(document.paths['/webhooks']?.post?.security).toEqual([{ ApiKey: ['write:webhooks'] }]);
  });

  it('gives every error code one component with typed details, all in one discriminated ApiError', async () => {
    const document = await fullDocument();
    const codes = Object.keys(ERRORS) as ErrorCode[];
    const union = document.components.schemas.ApiError as { discriminator: { mapping: Record<string, string> } };
    expect(Object.keys(union.discriminator.mapping).sort()).toEqual([...codes].sort());
    for (const code of codes) {
      const schema = document.components.schemas[errorSchemaName(code)] as {
        properties: { code: Json; details: Json };
      };
      expect(schema.properties.code, code).toEqual({ type: 'string', const: code });
      const details = schema.properties.details as { type?: string; anyOf?: { type: string }[] };
      const shapes = details.anyOf ?? [details];
      expect(
        shapes.map((shape) => shape.type),
        code,
      ).toEqual(shapes.map(() => 'object'));
      expect(document.info.description).toContain(`\`${code}\` (${ERRORS[code].status})`);
    }
  });

  it('lists every code an operation answers with under its status, in the one ErrorEnvelope', async () => {
    const document = await fullDocument();
    const listed = new Set<string>();
    for (const [name, operation] of operationsOf(document).filter(([key]) => !key.startsWith('webhook '))) {
      for (const [status, response] of Object.entries(operation.responses)) {
        if (Number(status) < 400) continue;
        const schema = response.content?.['application/json']?.schema as {
          allOf: [Json, { properties: { error: { $ref?: string; oneOf?: { $ref: string }[] } } }];
        };
        expect(schema.allOf[0], `${name} ${status}`).toEqual({ $ref: '#/components/schemas/ErrorEnvelope' });
        const error = schema.allOf[1].properties.error;
        const refs = error.oneOf ? error.oneOf.map((item) => item.$ref) : [error.$ref];
        for (const ref of refs) {
          const code = (Object.keys(ERRORS) as ErrorCode[]).find(
            (candidate) => ref === `#/components/schemas/${errorSchemaName(candidate)}`,
          );
          expect(code, `${name} ${status}: ${ref}`).toBeDefined();
          expect(String(ERRORS[code as ErrorCode].status), `${name}: ${code}`).toBe(status);
          listed.add(code as string);
        }
      }
    }
    // Unknown routes and methods are answered outside any operation.
    const routeLevel: ErrorCode[] = ['NOT_FOUND', 'METHOD_NOT_ALLOWED'];
    const codes = Object.keys(ERRORS) as ErrorCode[];
    expect([...listed].sort()).toEqual(codes.filter((code) => !routeLevel.includes(code)).sort());
  });

  it('documents the headers of each answer: X-Request-Id on all, WWW-Authenticate on 401, Retry-After on 429 and 503, the replay headers on idempotent writes', async () => {
    const document = await fullDocument();
    for (const [name, operation] of operationsOf(document).filter(([key]) => !key.startsWith('webhook '))) {
      for (const [status, response] of Object.entries(operation.responses)) {
        const headers = Object.keys(response.headers ?? {});
        expect(headers, `${name} ${status}`).toContain('X-Request-Id');
        if (status === '401') expect(headers, `${name} ${status}`).toContain('WWW-Authenticate');
        if (status === '429' || status === '503') expect(headers, `${name} ${status}`).toContain('Retry-After');
      }
    }
    for (const [path, status] of [
      ['/webhooks', '201'],
      ['/webhooks/{id}/rotate-secret', '200'],
    ] as const) {
      const headers = Object.keys(document.paths[path]?.post?.responses[status]?.headers ?? {});
      expect(headers).toEqual(expect.arrayContaining(['Idempotent-Replayed', 'Original-Request-Id']));
    }
  });

  it('types query parameters as what they mean, with real integer bounds everywhere', async () => {
    const document = await fullDocument();
    const parameters = document.paths['/webhooks']?.get?.parameters ?? [];
    expect(parameters.find((parameter) => parameter.name === 'limit')?.schema).toMatchObject({
      type: 'integer',
      minimum: 1,
      maximum: 100,
      default: 100,
    });
    expect(parameters.find((parameter) => parameter.name === 'isActive')?.schema).toEqual({ type: 'boolean' });
    const deliveryLimit = document.paths['/webhooks/{id}/deliveries']?.get?.parameters?.find(
      (parameter) => parameter.name === 'limit',
    );
    expect(deliveryLimit?.schema).toMatchObject({ type: 'integer', minimum: 1, maximum: 100, default: 50 });
    expect(JSON.stringify(document)).not.toContain('9007199254740991');
  });

  it('shows the length rules enforced in refinements as minLength/maxLength, and every constraint of the create body', async () => {
    const document = (await openApiDocument(API_ORIGIN)) as unknown as {
      paths: { '/webhooks': { post: { requestBody: { content: { 'application/json': { schema: Json } } } } } };
    };
    const body = document.paths['/webhooks'].post.requestBody.content['application/json'].schema as {
      properties: Record<string, Json>;
      required: string[];
      additionalProperties: boolean;
    };
    expect(body.required.sort()).toEqual(['events', 'url']);
    expect(body.additionalProperties).toBe(false);
    expect(body.properties.url).toMatchObject({ type: 'string', minLength: 1, maxLength: 2048, format: 'uri' });
    expect(body.properties.events).toMatchObject({ type: 'array', minItems: 1, maxItems: 100 });
    expect(JSON.stringify(body.properties.name)).toContain('"maxLength":255');
    expect(JSON.stringify(body.properties.description)).toContain('"maxLength":1000');
    const header = (body.properties.headers as { items: { properties: Record<string, Json> } }).items.properties;
    expect(header.name).toMatchObject({ minLength: 1, maxLength: 255 });
    expect(header.value).toMatchObject({ minLength: 1, maxLength: 4096 });
    expect(JSON.stringify(body.properties.companyId)).toContain('^[0-9a-fA-F]{8}');
  });
});

describe('the examples in GET /openapi.json', () => {
  it('has one for every request body and every response with a body, each valid against its schema', async () => {
    const document = await fullDocument();
    const examples = examplesOf(document);
    for (const [name, operation] of operationsOf(document)) {
      if (operation.requestBody)
        expect(
          examples.map((example) => example.where),
          name,
        ).toContain(`${name} request`);
      for (const [status, response] of Object.entries(operation.responses)) {
        if (!response.content) continue;
        expect(
          examples.some((example) => example.where.startsWith(`${name} ${status}`)),
          `${name} ${status} has an example`,
        ).toBe(true);
      }
    }
    for (const { where, schema, value } of examples) expect(validates(document, schema, value), where).toEqual([]);
    expect(examples.length).toBeGreaterThan(100);
  });

  it('fails a wrong example (the check can fail)', async () => {
    const document = await fullDocument();
    const create = document.paths['/webhooks']?.post?.requestBody?.content['application/json'];
    expect(validates(document, create?.schema ?? {}, { url: '', events: [] })).not.toEqual([]);
  });

  it('creates a webhook with the create example sent as is, and answers in the shape of the 201 example', async () => {
    const document = await fullDocument();
    const operation = document.paths['/webhooks']?.post;
    const example = operation?.requestBody?.content['application/json']?.example;
    const account = await createTestAccount();
    const created = await data<Json>(await call('POST', '/webhooks', { token: account.token, body: example }), 201);
    const { headers, ...fields } = example as Json & { headers: { name: string }[] };
    expect(created).toMatchObject(fields);
    // Header values are never returned.
    expect(created.headers).toEqual(headers.map(({ name }) => ({ name, isMasked: true })));
    const shown = operation?.responses['201']?.content?.['application/json']?.example as { data: Json };
    expect(Object.keys(created)).toEqual(Object.keys(shown.data));
  });

  it('takes the update and rotate examples, and the list query as documented (limit=2, isActive=true)', async () => {
    const document = await fullDocument();
    const account = await createTestAccount();
    const webhook = await data<{ id: string }>(
      await call('POST', '/webhooks', { token: account.token, body: validBody() }),
      201,
    );
    for (const [path, method] of [
      ['/webhooks/{id}', 'patch'],
      ['/webhooks/{id}/rotate-secret', 'post'],
    ] as const) {
      const example = document.paths[path]?.[method]?.requestBody?.content['application/json']?.example;
      const response = await call(method.toUpperCase(), path.replace('{id}', webhook.id), {
        token: account.token,
        body: example,
      });
      expect(response.status, path).toBe(200);
    }
    const page = await data<{ data: unknown[] }>(
      await call('GET', '/webhooks?limit=2&isActive=true', { token: account.token }),
    );
    expect(page.data).toHaveLength(1);
  });
});

describe('the webhooks section', () => {
  it('has one entry per event type: its body, the signature headers, and what each answer means', async () => {
    const document = await fullDocument();
    expect(Object.keys(document.webhooks).sort()).toEqual([...WEBHOOK_EVENTS].sort());
    for (const event of WEBHOOK_EVENTS) {
      const operation = document.webhooks[event]?.post as Operation;
      const body = operation.requestBody?.content['application/json'] ?? {};
      expect((body.example as { event: string }).event).toBe(event);
      expect(validates(document, body.schema ?? {}, { ...(body.example as Json), event: 'PING' }), event).toEqual(
        event === 'PING' ? [] : expect.arrayContaining([expect.anything()]),
      );
      const headers = (operation.parameters ?? []).map((parameter) => parameter.$ref?.split('/').at(-1));
      expect(headers).toEqual(['WebhookId', 'WebhookTimestamp', 'WebhookSignature', 'UserAgent']);
      expect(Object.keys(operation.responses)).toEqual(['410', '429', '503', '2XX', 'default']);
    }
  });
});

describe('GET /docs', () => {
  it('serves the reference page, which loads its script from this origin only', async () => {
    const response = await throughWorker(new Request(`${API_ORIGIN}/docs`));
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toMatch(/^text\/html/);
    expect(response.headers.get('Content-Security-Policy')).toMatch(/default-src 'none'.*script-src 'self'/);
    const html = await response.text();
    expect(html).toContain('<script src="/docs/scalar.js"></script>');
    expect(html).toContain('"url":"/openapi.json"');
    expect(html).toContain('"withDefaultFonts":false');
    expect(html).not.toMatch(/https?:\/\//);
  });

  it('serves Scalar’s bundle as a static asset of this Worker, with a request id', async () => {
    const response = await throughWorker(new Request(`${API_ORIGIN}/docs/scalar.js`));
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toMatch(/javascript/);
    expect(response.headers.get('X-Request-Id')).toMatch(/^[0-9a-f-]{36}$/);
    const script = await response.text();
    expect(script).toContain('createApiReference');
    expect(script.length).toBeGreaterThan(1_000_000);
  });
});
