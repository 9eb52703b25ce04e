import { exports } from 'cloudflare:workers';
import { Validator } from '@cfworker/json-schema';
import { expect } from 'vitest';

import { SERVICE_PATHS } from '../../src/openapi/routes.ts';

type MediaType = { schema?: object };
type HeaderObject = { required?: boolean; $ref?: string };
type Operation = {
  responses: Record<string, { content?: Record<string, MediaType>; headers?: Record<string, HeaderObject> }>;
};
export interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: { headers?: Record<string, HeaderObject> };
}

/**
 * The headers the service itself sets (beyond a body's Content-Type and Content-Length): each one a
 * response carries must be documented for it, and each one documented as required must be there.
 */
export const CONTRACT_HEADERS = [
  'X-Request-Id',
  'ETag',
  'Retry-After',
  'WWW-Authenticate',
  'Idempotent-Replayed',
  'Original-Request-Id',
  'Allow',
];

let cached: Promise<Document> | undefined;
const validators = new Map<string, Validator>();

/** GET /openapi.json, through the Worker, once per test file. */
export function openApiDocument(origin: string): Promise<Document> {
  cached ??= exports.default.fetch(new Request(new URL('/openapi.json', origin))).then((response) => {
    expect(response.status).toBe(200);
    return response.json() as Promise<Document>;
  });
  return cached;
}

/** The document's path template that `path` (a concrete path, no query) falls under. */
function templateOf(document: Document, path: string): string | undefined {
  return Object.keys(document.paths).find((template) =>
    new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path),
  );
}

/**
 * Asserts that the document describes this response: the operation, its status, its media type, and a
 * body that validates against the schema it gives (JSON Schema 2020-12, with @cfworker/json-schema, in
 * workerd). Every request the suite sends through the Worker's entry goes through here (api.ts), but
 * those that test what the document leaves out on purpose (unknown routes and methods).
 */
export async function expectDocumented(request: { method: string; url: string }, response: Response): Promise<void> {
  const document = await openApiDocument(request.url);
  const path = new URL(request.url).pathname;
  if ((SERVICE_PATHS as readonly string[]).includes(path)) {
    // Not in the document on purpose (openapi/routes.ts), but a response like any other.
    expect(response.headers.get('X-Request-Id'), `${path}: X-Request-Id`).toMatch(/^[0-9a-f-]{36}$/);
    return;
  }
  const template = templateOf(document, path);
  expect(template, `${path} is in the document`).toBeDefined();
  const operation = document.paths[template as string]?.[request.method.toLowerCase()];
  const name = `${request.method} ${template}`;
  expect(operation, `${name} is in the document`).toBeDefined();
  const documented = operation?.responses[String(response.status)];
  expect(documented, `${name} documents status ${response.status}`).toBeDefined();
  const headers = documented?.headers ?? {};
  const documentedNames = Object.keys(headers).map((name) => name.toLowerCase());
  for (const header of CONTRACT_HEADERS) {
    if (response.headers.has(header)) {
      expect(documentedNames, `${name} ${response.status} sends ${header}: documented`).toContain(header.toLowerCase());
    }
  }
  for (const [header, object] of Object.entries(headers)) {
    const resolved = object.$ref ? document.components.headers?.[object.$ref.split('/').at(-1) ?? ''] : object;
    if (resolved?.required)
      expect(response.headers.has(header), `${name} ${response.status}: ${header} is sent`).toBe(true);
  }
  const text = await response.clone().text();
  const [mediaType, content] = Object.entries(documented?.content ?? {})[0] ?? [];
  if (mediaType === undefined) {
    expect(text, `${name} ${response.status} has no body`).toBe('');
    return;
  }
  expect(response.headers.get('Content-Type')?.split(';')[0], `${name} ${response.status}: media type`).toBe(mediaType);
  if (!content?.schema) return;
  const key = `${name} ${response.status}`;
  let validator = validators.get(key);
  if (!validator) {
    validator = new Validator({ ...content.schema, components: document.components }, '2020-12', false);
    validators.set(key, validator);
  }
  expect(validator.validate(JSON.parse(text)).errors, `${key}: ${text.slice(0, 500)}`).toEqual([]);
}
