#!/usr/bin/env node
// Builds the agent console into OUTDIR:
//   OUTDIR/index.html                      (served for /console/ and, by the daemon, its sub-paths)
//   OUTDIR/assets/console-<hash>.js        (ES2020 module, minified)
//   OUTDIR/assets/console-<hash>.css
//   OUTDIR/assets/*.gz                     (gzipped copies the daemon sends when accepted)
// Stale files in OUTDIR/assets are removed. No inline script or style anywhere (the daemon's
// Content-Security-Policy forbids them). The gzipped JS + CSS must fit the budget, else exit 1.
//
// Usage: node console/build.mjs OUTDIR     (works offline after `npm ci` in console/)

import { build } from 'esbuild';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

// Gzipped bytes of JS + CSS together; CONSOLE_BUDGET (bytes) overrides it, to check the check.
const BUDGET = /^[0-9]+$/.test(process.env.CONSOLE_BUDGET || '') ? Number(process.env.CONSOLE_BUDGET) : 100 * 1024;

const here = dirname(fileURLToPath(import.meta.url));
const outArg = process.argv[2];
if (!outArg || process.argv.length > 3) {
  console.error('usage: node build.mjs OUTDIR');
  process.exit(2);
}
const outDir = resolve(outArg);
const assets = join(outDir, 'assets');
mkdirSync(assets, { recursive: true });
// A failed build leaves no index.html naming assets that are gone.
rmSync(join(outDir, 'index.html'), { force: true });
for (const f of readdirSync(assets)) rmSync(join(assets, f), { recursive: true, force: true });

let result;
try {
  result = await build({
    entryPoints: { console: join(here, 'src/main.tsx') },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2020'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: assets,
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    metafile: true,
    legalComments: 'none',
    sourcemap: false,
    charset: 'utf8',
    logLevel: 'warning',
    absWorkingDir: here,
  });
} catch {
  console.error('build: esbuild failed (see above)');
  process.exit(1);
}

const outputs = Object.keys(result.metafile.outputs).map((p) => resolve(here, p));
const js = outputs.filter((p) => p.endsWith('.js'));
const css = outputs.filter((p) => p.endsWith('.css'));
if (js.length !== 1 || css.length !== 1) {
  console.error(`build: expected one .js and one .css, got ${outputs.map((p) => basename(p)).join(', ')}`);
  process.exit(1);
}
// The budget first: an over-budget build leaves no index.html pointing at it.
let total = 0;
const packed = new Map();
for (const p of [...js, ...css]) {
  const raw = readFileSync(p);
  const gz = gzipSync(raw, { level: 9 });
  packed.set(p, gz);
  total += gz.length;
  console.log(`${relative(process.cwd(), p)}: ${raw.length} bytes, ${gz.length} gzipped`);
}
console.log(`total gzipped: ${total} bytes (budget ${BUDGET})`);
if (total > BUDGET) {
  for (const f of readdirSync(assets)) rmSync(join(assets, f), { force: true });
  console.error(`build: the bundle is over budget: ${total} > ${BUDGET} gzipped bytes`);
  process.exit(1);
}
for (const [p, gz] of packed) writeFileSync(p + '.gz', gz); // the daemon sends these to browsers that accept gzip

const url = (p) => '/console/assets/' + basename(p);

const html = `<!doctype html>
<html lang="pl">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Switchboard</title>
<link rel="stylesheet" href="${url(css[0])}">
<script type="module" src="${url(js[0])}"></script>
</head>
<body>
<div id="app"></div>
<noscript>Switchboard needs JavaScript. / Switchboard wymaga JavaScriptu.</noscript>
</body>
</html>
`;
writeFileSync(join(outDir, 'index.html'), html);
console.log(`wrote ${join(outDir, 'index.html')}`);
