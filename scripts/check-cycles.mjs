#!/usr/bin/env node
// Import cycles between the files under src/ (relative ES imports), found by depth-first
// search: prints each cycle and exits 1 if there is one. Type-only imports count too: a
// cycle of types is still two modules that cannot be read alone.
//   node scripts/check-cycles.mjs [src]
//   node scripts/check-cycles.mjs --folders [src]   the folder-level picture (docs/design.md), always exit 0
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const folders = process.argv.includes('--folders');
const root = resolve(process.argv.slice(2).find((a) => !a.startsWith('--')) ?? 'src');
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) files.push(p);
  }
})(root);

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"](\.[^'"]+)['"]/g;
const graph = new Map();
for (const f of files) {
  const deps = new Set();
  for (const m of readFileSync(f, 'utf8').matchAll(IMPORT)) {
    const target = resolve(dirname(f), m[1].replace(/\.js$/, '.ts'));
    if (files.includes(target)) deps.add(target);
  }
  graph.set(f, [...deps]);
}

const state = new Map(); // 1 = on the stack, 2 = done
const stack = [];
const cycles = [];
function visit(f) {
  state.set(f, 1);
  stack.push(f);
  for (const d of graph.get(f)) {
    if (state.get(d) === 1) cycles.push([...stack.slice(stack.indexOf(d)), d]);
    else if (!state.has(d)) visit(d);
  }
  stack.pop();
  state.set(f, 2);
}
for (const f of files) if (!state.has(f)) visit(f);

if (folders) {
  // folder -> the folders it imports from, and which pairs import each other
  const folderOf = (f) => relative(root, dirname(f)).split('/')[0] || '.';
  const edges = new Map();
  for (const [f, deps] of graph) for (const d of deps) {
    const [a, b] = [folderOf(f), folderOf(d)];
    if (a !== b) edges.set(a, new Set([...(edges.get(a) ?? []), b]));
  }
  console.log('| folder | imports from |\n|---|---|');
  for (const a of [...edges.keys()].sort()) console.log(`| ${a} | ${[...edges.get(a)].sort().join(', ')} |`);
  const both = [...edges].flatMap(([a, bs]) => [...bs].filter((b) => a < b && edges.get(b)?.has(a)).map((b) => `${a} <-> ${b}`));
  console.log(`\nfolders importing each other: ${both.length ? both.join(', ') : 'none'}`);
} else {
  for (const c of cycles) console.log(`import cycle: ${c.map((f) => relative(root, f)).join(' -> ')}`);
  console.log(`${files.length} files, ${cycles.length} import cycle(s)`);
  process.exitCode = cycles.length ? 1 : 0;
}
