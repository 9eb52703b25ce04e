// The Worker's static assets (public/, git-ignored), made before every npm script by scripts/with-node.mjs,
// next to the dependency check. Plain JavaScript with no dependencies.
//
// - public/docs/scalar.js, what GET /docs loads: Scalar's API reference, one self-contained browser
//   bundle from a pinned npm package, checked against its registry integrity. Nothing comes from a CDN.
// - public/openapi.json, what GET /openapi.json serves: built by scripts/openapi.ts from the app's own
//   routes and schemas whenever anything under src/ changed.
// - public/portal/, the webhook portal's page, script and styles: built by scripts/portal-assets.ts
//   (esbuild, Preact, uPlot) whenever anything under portal/ changed.
//
// Why not a devDependency: the package pulls in 284 others (311 MB) for the one 4.9 MB file we serve.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SCALAR = {
  spec: '@scalar/api-reference@1.76.0',
  integrity: 'sha512-pjqwnzmA9YK3ZX+IZSICMsywm4qI6HLSngR2py9H6TvFApHHuJjkTAd+gFJfnqJDzJuro8k7ji6JCtJ2U+Byng==',
  file: 'package/dist/browser/standalone.js',
};

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const target = join(root, 'public', 'docs', 'scalar.js');
const stamp = join(root, 'public', 'docs', '.source');

export function ensureDocsAssets(env = process.env) {
  const wanted = `${SCALAR.spec} ${SCALAR.integrity}`;
  if (existsSync(target) && existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted) return;
  process.stderr.write(`[docs-assets] fetching ${SCALAR.spec} (the /docs page's bundle) from the npm registry\n`);
  const work = mkdtempSync(join(tmpdir(), 'webhooks-docs-'));
  try {
    const pack = spawnSync('npm', ['pack', '--silent', SCALAR.spec], {
      cwd: work,
      env,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const tarball = readdirSync(work).find((name) => name.endsWith('.tgz'));
    if (pack.status !== 0 || !tarball) throw new Error(`npm pack ${SCALAR.spec} failed`);
    const digest = `sha512-${createHash('sha512')
      .update(readFileSync(join(work, tarball)))
      .digest('base64')}`;
    if (digest !== SCALAR.integrity)
      throw new Error(`${SCALAR.spec}: integrity ${digest} is not the pinned ${SCALAR.integrity}`);
    const untar = spawnSync('tar', ['xzf', tarball, SCALAR.file], { cwd: work, stdio: 'inherit' });
    if (untar.status !== 0) throw new Error(`could not extract ${SCALAR.file}`);
    mkdirSync(dirname(target), { recursive: true });
    // Without its source map comment: the map is not served, and a browser would ask for it.
    const bundle = readFileSync(join(work, SCALAR.file), 'utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
    writeFileSync(target, bundle);
    writeFileSync(stamp, wanted);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** A digest of every file under `folder`, so what is built from it is rebuilt exactly when it changed. */
function sourceDigest(folder = 'src') {
  const hash = createHash('sha256');
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else hash.update(path.slice(root.length)).update('\0').update(readFileSync(path)).update('\0');
    }
  };
  walk(join(root, folder));
  return hash.digest('hex');
}

/** Rebuilds public/openapi.json with `node` (a Node that runs TypeScript) when src/ changed. */
export function ensureOpenApiDocument(env, node) {
  const document = join(root, 'public', 'openapi.json');
  const documentStamp = join(root, 'public', '.openapi-source');
  const digest = sourceDigest();
  if (existsSync(document) && existsSync(documentStamp) && readFileSync(documentStamp, 'utf8') === digest) return;
  const build = spawnSync(node, [join(root, 'scripts', 'openapi.ts')], { cwd: root, env, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('scripts/openapi.ts failed: public/openapi.json could not be built');
  writeFileSync(documentStamp, digest);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) ensureDocsAssets();

/** Rebuilds public/portal/ (the webhook portal's page and bundle) with scripts/portal-assets.ts when portal/ changed. */
export function ensurePortalAssets(env, node) {
  const built = join(root, 'public', 'portal', 'portal.js');
  const stamp = join(root, 'public', 'portal', '.source');
  // The lockfile too: a new Preact or uPlot must rebuild the bundle.
  const lock = createHash('sha256')
    .update(readFileSync(join(root, 'package-lock.json')))
    .digest('hex');
  const digest = `${sourceDigest('portal')} ${lock}`;
  if (existsSync(built) && existsSync(stamp) && readFileSync(stamp, 'utf8') === digest) return;
  const build = spawnSync(node, [join(root, 'scripts', 'portal-assets.ts')], { cwd: root, env, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('scripts/portal-assets.ts failed: public/portal/ could not be built');
  writeFileSync(stamp, digest);
}
