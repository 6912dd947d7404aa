// Builds web/dist/ from web/src/ with esbuild: app.js (one minified bundle: the app,
// preact, uPlot and the SDK read from ../sdk/ts/src), qr.js (jsQR, loaded when the
// camera is opened), app.css, index.html, and
// each gzip-compressed at level 9 beside it (the node serves those bytes as they are).
// File names are fixed and the output depends only on the sources and the pinned
// versions, so `web/ci.sh` can compare a rebuild with what is committed.
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'dist');
mkdirSync(out, { recursive: true });

const common = {
  bundle: true,
  minify: true,
  legalComments: 'none',
  charset: 'utf8',
  logLevel: 'warning',
  // The SDK's sources import @noble/* and @scure/base: resolve them from web/node_modules.
  nodePaths: [join(here, 'node_modules')],
};
await build({
  ...common,
  entryPoints: [join(here, 'src/main.tsx')],
  outfile: join(out, 'app.js'),
  format: 'esm',
  target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  define: { 'process.env.NODE_ENV': '"production"' },
  // jsQR (130 kB) is its own file, loaded only when the camera is opened.
  external: ['/qr.js'],
});
await build({
  ...common,
  entryPoints: [join(here, 'src/qr.ts')],
  outfile: join(out, 'qr.js'),
  format: 'esm',
  target: ['es2022'],
});
await build({
  ...common,
  entryPoints: [join(here, 'src/app.css')],
  outfile: join(out, 'app.css'),
});
copyFileSync(join(here, 'src/index.html'), join(out, 'index.html'));

for (const name of ['index.html', 'app.js', 'app.css', 'qr.js']) {
  const bytes = readFileSync(join(out, name));
  writeFileSync(join(out, `${name}.gz`), gzipSync(bytes, { level: 9 }));
  console.log(`${name}: ${bytes.length} bytes, ${readFileSync(join(out, `${name}.gz`)).length} gzip`);
}
