#!/usr/bin/env node
// Runs a command with a Node.js that satisfies package.json `engines`, after making sure node_modules
// matches package-lock.json. Deliberately plain JavaScript with no dependencies: it has to work on the
// older Node a fresh machine ships (Node 20 here), before anything is installed.
//
//   node scripts/with-node.mjs <command> [args…]
//
// A suitable system Node is used as is; otherwise the version in .nvmrc is fetched once from the npm
// registry (the `node-<platform>-<arch>` packages hold the official binaries) into .tools/.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDocsAssets, ensureOpenApiDocument, ensurePortalAssets } from './docs-assets.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const engines = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).engines.node;
const [MIN_MAJOR, MIN_MINOR] = (/^>=\s*(\d+)\.(\d+)/.exec(engines) ?? []).slice(1).map(Number);
if (MIN_MAJOR === undefined) throw new Error(`package.json engines.node must read ">=MAJOR.MINOR", not ${engines}`);

function log(message) {
  process.stderr.write(`[with-node] ${message}\n`);
}

function fail(message) {
  log(message);
  process.exit(1);
}

function satisfiesEngines(version) {
  const [major, minor] = version.replace(/^v/, '').split('.').map(Number);
  return major > MIN_MAJOR || (major === MIN_MAJOR && minor >= MIN_MINOR);
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', ...options });
  if (result.error) fail(`${command} failed to start: ${result.error.message}`);
  if (result.status !== 0) fail(`${command} ${args.join(' ')} exited with ${result.status ?? result.signal}`);
}

/** Returns the directory holding a suitable `node` binary, downloading one if needed. */
function ensureNode() {
  if (satisfiesEngines(process.version)) return dirname(process.execPath);

  const wanted = readFileSync(join(root, '.nvmrc'), 'utf8').trim();
  const platform = { linux: 'linux', darwin: 'darwin' }[process.platform];
  const arch = { x64: 'x64', arm64: 'arm64' }[process.arch];
  if (!platform || !arch)
    fail(`no Node ${wanted} package for ${process.platform}-${process.arch}; install Node >= 22.12`);

  const home = join(root, '.tools', `node-${wanted}-${platform}-${arch}`);
  const bin = join(home, 'bin');
  if (existsSync(join(bin, 'node'))) return bin;

  log(
    `Node ${process.version} is older than ${MIN_MAJOR}.${MIN_MINOR}; fetching node-${platform}-${arch}@${wanted} from the npm registry`,
  );
  const staging = `${home}.partial`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  run('npm', ['pack', '--silent', `node-${platform}-${arch}@${wanted}`], {
    cwd: staging,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const tarball = readdirSync(staging).find((name) => name.endsWith('.tgz'));
  if (!tarball) fail('npm pack produced no tarball');
  run('tar', ['xzf', tarball, '--strip-components=1'], { cwd: staging });
  rmSync(join(staging, tarball));
  renameSync(staging, home);
  return bin;
}

/** Installs dependencies when node_modules is missing or was installed from another lockfile. */
function ensureDependencies(env) {
  const lock = readFileSync(join(root, 'package-lock.json'));
  const digest = createHash('sha256').update(lock).digest('hex');
  const stamp = join(root, 'node_modules', '.installed-lock-sha256');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === digest) return;
  log('installing dependencies (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, env });
  writeFileSync(stamp, digest);
}

const [command, ...args] = process.argv.slice(2);
if (!command) fail('usage: node scripts/with-node.mjs <command> [args…]');

const nodeBin = ensureNode();
const env = {
  ...process.env,
  PATH: [nodeBin, join(root, 'node_modules', '.bin'), process.env.PATH].join(':'),
  // Official Node binaries ignore the OS certificate store; registries behind a TLS proxy need it.
  NODE_USE_SYSTEM_CA: process.env.NODE_USE_SYSTEM_CA ?? '1',
  // Keep local tooling offline: no usage metrics, no download of Cloudflare's request.cf data.
  WRANGLER_SEND_METRICS: process.env.WRANGLER_SEND_METRICS ?? 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: process.env.CLOUDFLARE_CF_FETCH_ENABLED ?? 'false',
};
// Headers for native addons must match the Node that runs them, not the machine's older one.
if (nodeBin !== dirname(process.execPath)) delete env.npm_config_nodedir;

ensureDependencies(env);
ensureDocsAssets(env);
ensureOpenApiDocument(env, join(nodeBin, 'node'));
ensurePortalAssets(env, join(nodeBin, 'node'));

const child = spawn(command, args, { stdio: 'inherit', env, cwd: process.cwd() });
// Pass every stop signal on (a terminal's Ctrl-C also reaches the child directly: children must stop
// once however often they are told), then wait for the child to wind down.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
// npm runs scripts through `sh -c`, which dies of the SIGTERM npm passes on without passing it further:
// when this process is orphaned, whoever started it has gone, so the child is told to stop.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) child.kill('SIGTERM');
}, 250).unref();
child.on('error', (error) => fail(`${command} failed to start: ${error.message}`));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
