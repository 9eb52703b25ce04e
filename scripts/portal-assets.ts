// Builds the webhook portal (portal/) into public/portal/: index.html, portal.js (esbuild, minified, one
// file) and portal.css. Run by scripts/with-node.mjs before every npm script when portal/ changed
// (docs-assets.mjs ensurePortalAssets), like the OpenAPI document; the Worker serves the files (src/portal/page.ts).
//   node scripts/portal-assets.ts [--report]   (--report prints each file's size, raw and gzip)
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const source = join(root, 'portal');
const target = join(root, 'public', 'portal');
/** The budget for the page's JavaScript, gzip. */
const BUDGET_BYTES = 80 * 1024;

mkdirSync(target, { recursive: true });
await build({
  entryPoints: [join(source, 'src', 'main.tsx')],
  outfile: join(target, 'portal.js'),
  bundle: true,
  minify: true,
  format: 'iife',
  target: 'es2022',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  logLevel: 'warning',
});
copyFileSync(join(source, 'index.html'), join(target, 'index.html'));
// uPlot's own stylesheet first, so the portal's rules can override it.
const css = [readFileSync(join(root, 'node_modules', 'uplot', 'dist', 'uPlot.min.css'), 'utf8')];
css.push(readFileSync(join(source, 'portal.css'), 'utf8'));
await build({
  stdin: { contents: css.join('\n'), loader: 'css' },
  outfile: join(target, 'portal.css'),
  minify: true,
  logLevel: 'warning',
});

const gzipped = (file: string) => gzipSync(readFileSync(join(target, file)), { level: 9 }).length;
const script = gzipped('portal.js');
if (script > BUDGET_BYTES) {
  console.error(`[portal] portal.js is ${script} bytes gzip, over the ${BUDGET_BYTES}-byte budget`);
  process.exit(1);
}
if (process.argv.includes('--report')) {
  for (const file of ['index.html', 'portal.js', 'portal.css']) {
    const raw = readFileSync(join(target, file)).length;
    console.log(
      `public/portal/${file}: ${(raw / 1024).toFixed(1)} KiB raw, ${(gzipped(file) / 1024).toFixed(1)} KiB gzip`,
    );
  }
}
