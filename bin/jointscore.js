#!/usr/bin/env node
// The installed command: runs the compiled CLI (npm ci builds dist/ through `prepare`).
import { main } from '../dist/cli/main.js';

main(process.argv).catch((err) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
