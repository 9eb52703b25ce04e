import { exports } from 'cloudflare:workers';
import { Validator } from '@cfworker/json-schema';
import { expect } from 'vitest';
import { API_ORIGIN } from './api.ts';

type Operation = { responses: Record<string, { content?: { 'application/json': { schema: object } } }> };
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: object;
}

let cached: Promise<Document> | undefined;

/** GET /openapi.json, through the Worker, once per test file. */
export function openApiDocument(): Promise<Document> {
  cached ??= exports.default.fetch(new Request(`${API_ORIGIN}/openapi.json`)).then((response) => {
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
 * Asserts that the document describes this response: the operation, its status, and a body that
 * validates against the schema it gives (JSON Schema 2020-12, with @cfworker/json-schema, in workerd).
 */
export async function expectDocumented(method: string, url: string, response: Response): Promise<void> {
  const document = await openApiDocument();
  const path = new URL(url, API_ORIGIN).pathname;
  const template = templateOf(document, path);
  expect(template, `${path} is in the document`).toBeDefined();
  const operation = document.paths[template as string]?.[method.toLowerCase()];
  expect(operation, `${method} ${template} is in the document`).toBeDefined();
  const documented = operation?.responses[String(response.status)];
  expect(documented, `${method} ${template} documents status ${response.status}`).toBeDefined();
  const text = await response.clone().text();
  const schema = documented?.content?.['application/json']?.schema;
  if (!schema) {
    expect(text, `${method} ${template} ${response.status} has no body`).toBe('');
    return;
  }
  const result = new Validator({ ...schema, components: document.components }, '2020-12', false).validate(
    JSON.parse(text),
  );
  expect(result.errors, `${method} ${template} ${response.status}: ${text.slice(0, 500)}`).toEqual([]);
}
