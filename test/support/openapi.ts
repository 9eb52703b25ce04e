import { exports } from 'cloudflare:workers';
import { Validator } from '@cfworker/json-schema';
import { expect } from 'vitest';

type MediaType = { schema?: object };
type Operation = { responses: Record<string, { content?: Record<string, MediaType> }> };
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: object;
}

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
  const template = templateOf(document, path);
  expect(template, `${path} is in the document`).toBeDefined();
  const operation = document.paths[template as string]?.[request.method.toLowerCase()];
  const name = `${request.method} ${template}`;
  expect(operation, `${name} is in the document`).toBeDefined();
  const documented = operation?.responses[String(response.status)];
  expect(documented, `${name} documents status ${response.status}`).toBeDefined();
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
