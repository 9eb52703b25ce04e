import { describe, expect, it } from 'vitest';
import { app } from '../src/app.ts';
import { ERROR_STATUS, type ErrorCode } from '../src/http/errors.ts';
import { buildOpenApiDocument } from '../src/openapi/document.ts';
import { API_VERSION } from '../src/openapi/routes.ts';
import { API_ORIGIN, throughWorker } from './support/api.ts';
import { openApiDocument } from './support/openapi.ts';

type Json = Record<string, unknown>;
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document, served without credentials', async () => {
    const response = await throughWorker(new Request(`${API_ORIGIN}/openapi.json`));
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toMatch(/^application\/json/);
    const document = (await response.json()) as Json;
    expect(document.openapi).toBe('3.1.0');
  });

  it('is the document this app’s routes build (public/openapi.json is never stale)', async () => {
    const served = await openApiDocument(API_ORIGIN);
    expect(served).toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument(app, { version: API_VERSION }))));
  });

  it('describes every route the app serves, and nothing else', async () => {
    const document = await openApiDocument(API_ORIGIN);
    const served = new Set(
      app.routes
        .filter((route) => route.method !== 'ALL')
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
    expect(served.size).toBeGreaterThanOrEqual(11);
  });

  it('names every error code the API answers with, each under its status', async () => {
    const document = (await openApiDocument(API_ORIGIN)) as unknown as {
      components: { schemas: { ErrorCode: { enum: string[] } } };
      paths: Record<string, Record<string, { responses: Record<string, Json> }>>;
      info: { description: string };
    };
    const codes = Object.keys(ERROR_STATUS) as ErrorCode[];
    expect(document.components.schemas.ErrorCode.enum.sort()).toEqual([...codes].sort());
    for (const code of codes) expect(document.info.description).toContain(`\`${code}\` (${ERROR_STATUS[code]})`);
    // Every code an operation can answer with is listed under the status the map gives it.
    const listed = new Map<string, Set<string>>();
    for (const operations of Object.values(document.paths)) {
      for (const operation of Object.values(operations)) {
        for (const [status, response] of Object.entries(operation.responses)) {
          const schema = (response.content as Json | undefined)?.['application/json'] as Json | undefined;
          const error = ((schema?.schema as Json | undefined)?.properties as Json | undefined)?.error as
            | Json
            | undefined;
          const enumeration = ((error?.properties as Json | undefined)?.code as Json | undefined)?.enum as
            | string[]
            | undefined;
          for (const code of enumeration ?? []) {
            expect(String(ERROR_STATUS[code as ErrorCode]), code).toBe(status);
            listed.set(code, (listed.get(code) ?? new Set()).add(status));
          }
        }
      }
    }
    // Unknown routes and methods are answered outside any operation.
    const routeLevel: ErrorCode[] = ['NOT_FOUND', 'METHOD_NOT_ALLOWED'];
    expect([...listed.keys()].sort()).toEqual(codes.filter((code) => !routeLevel.includes(code)).sort());
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

  it('serves Scalar’s bundle as a static asset of this Worker', async () => {
    const response = await throughWorker(new Request(`${API_ORIGIN}/docs/scalar.js`));
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toMatch(/javascript/);
    const script = await response.text();
    expect(script).toContain('createApiReference');
    expect(script.length).toBeGreaterThan(1_000_000);
  });
});
