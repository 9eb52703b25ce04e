// The API as an integrator meets it, with tools no one here wrote (test/integrator/package.json, installed
// apart from the service's dependencies so that npm run dev's first run does not carry them):
//   1. Redocly's strict ruleset on the OpenAPI document: 0 problems.
//   2. A client generated from it by openapi-typescript (test/integrator/generated/, git-ignored: made
//      fresh on every run, so it cannot drift) and test/integrator/client.ts, which uses it for every
//      operation, compiled by TypeScript 5 with --strict.
// Part of npm run check.   node scripts/ci/integrator.ts [--install-only]
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const projectRoot = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
/** Made before every npm script by scripts/with-node.mjs (scripts/openapi.ts). */
const openApiFile = join(projectRoot, 'public', 'openapi.json');
const folder = join(projectRoot, 'test', 'integrator');
const bin = (name: string) => join(folder, 'node_modules', '.bin', name);

function run(what: string, command: string, args: string[], options: { quiet?: boolean } = {}): string {
  const result = spawnSync(command, args, { cwd: folder, encoding: 'utf8' });
  const output = `${result.stdout}${result.stderr}`;
  if (result.status !== 0) {
    process.stderr.write(output);
    console.error(`integrator: ${what} failed`);
    process.exit(1);
  }
  if (!options.quiet) process.stdout.write(output);
  return output;
}

/** npm ci in test/integrator when its node_modules was installed from another lockfile (or never). */
function ensureTools(): void {
  const digest = createHash('sha256')
    .update(readFileSync(join(folder, 'package-lock.json')))
    .digest('hex');
  const stamp = join(folder, 'node_modules', '.installed-lock-sha256');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === digest) return;
  console.log('integrator: installing the checking tools (npm ci in test/integrator)');
  run('npm ci', 'npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error']);
  writeFileSync(stamp, digest);
}

ensureTools();
// For the browser check (npm run test:docs), which needs the tools and nothing else.
if (process.argv.includes('--install-only')) process.exit(0);

const lint = run('redocly lint', bin('redocly'), ['lint', '--extends', 'recommended-strict', openApiFile], {
  quiet: true,
});
console.log(`integrator: redocly lint --extends recommended-strict: ${/valid\. 🎉/.test(lint) ? '0 problems' : lint}`);

mkdirSync(join(folder, 'generated'), { recursive: true });
const generated = join(folder, 'generated', 'api.ts');
run('openapi-typescript', bin('openapi-typescript'), [openApiFile, '--output', generated], { quiet: true });
const types = readFileSync(generated, 'utf8');
const untyped = types.match(/details: Record<string, never>/g)?.length ?? 0;
console.log(
  `integrator: openapi-typescript: ${types.split('\n').length} lines; error details typed per code (${untyped} codes with empty details)`,
);

run('tsc --strict', bin('tsc'), ['-p', join(folder, 'tsconfig.json')]);
console.log('integrator: test/integrator/*.ts compile with tsc --strict against the generated client');
