// Writes the generated CRD, chart files and docs field reference. Runs on
// Node 22 (type stripping) against the compiled dist/, so build first:
// `npm run gen -w operator` does both.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as Generate from '../src/generate.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const distGenerate = new URL('../dist/generate.js', import.meta.url).href;
const gen = (await import(distGenerate)) as typeof Generate;

for (const [path, content] of Object.entries(gen.generatedFiles())) {
  const target = join(repoRoot, path);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, content);
  console.log(`wrote ${path}`);
}

const docsPath = join(repoRoot, gen.GENERATED_PATHS.docs);
const spliced = gen.spliceFieldReference(readFileSync(docsPath, 'utf8'));
if (!spliced.ok) {
  console.error(spliced.error);
  process.exit(1);
}
writeFileSync(docsPath, spliced.doc);
console.log(`wrote ${gen.GENERATED_PATHS.docs} (field reference)`);
