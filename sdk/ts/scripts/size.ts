// `npm run size`: the SDK bundled for a browser with esbuild (ESM, minified, all
// dependencies included), raw and gzipped (zlib level 9).

import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';

const entry = new URL('../src/index.js', import.meta.url).pathname;
const out = await build({
  entryPoints: [entry],
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  write: false,
});
const bytes = out.outputFiles[0]!.contents;
const gz = gzipSync(bytes, { level: 9 });
console.log(`bundle (esbuild, minified, ESM, with @noble/curves, @noble/hashes, @noble/ciphers, @scure/base): ${bytes.length} bytes, gzip ${gz.length} bytes`);
