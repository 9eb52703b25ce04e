// Writes public/openapi.json: the OpenAPI document built from the app's own routes and zod schemas
// (src/openapi/document.ts). Built here rather than in the Worker, so zod's JSON Schema generator and the
// builder stay out of the deployed bundle (README "Performance"); served as a static asset by
// GET /openapi.json. scripts/with-node.mjs runs this whenever src/ changed, before any npm script;
// test/openapi.test.ts checks the file equals what the running app's routes build.
//   node scripts/openapi.ts [--check]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { projectRoot } from './local/dev-database.ts';

export const openApiFile = join(projectRoot, 'public', 'openapi.json');

// Imported by path: the Worker's code is type-checked with the Workers types (tsconfig.json), not
// with this script's Node ones.
const worker = (path: string) => import(join(projectRoot, 'src', path));
const { app } = (await worker('app.ts')) as { app: unknown };
const { buildOpenApiDocument } = (await worker('openapi/document.ts')) as {
  buildOpenApiDocument(app: unknown, info: { version: string }): object;
};
const { API_VERSION } = (await worker('openapi/routes.ts')) as { API_VERSION: string };

const text = `${JSON.stringify(buildOpenApiDocument(app, { version: API_VERSION }), null, 2)}\n`;
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(openApiFile, 'utf8');
  } catch {}
  if (current !== text) {
    console.error('public/openapi.json is out of date: run node scripts/openapi.ts');
    process.exit(1);
  }
} else {
  mkdirSync(dirname(openApiFile), { recursive: true });
  writeFileSync(openApiFile, text);
}
