#!/usr/bin/env node
// The bundled CLI (npm run build makes it after tsc: scripts/bundle-cli.ts) starts in two
// thirds of the time. It is used only when it is newer than the compiled CLI: tsc rewrites
// every output, so after a tsc-only build the stale bundle is passed over.
import { statSync } from 'node:fs';

const bundle = new URL('../build/src/cli/tswarm.bundle.js', import.meta.url);
const compiled = new URL('../build/src/cli/bin.js', import.meta.url);
const mtime = (u) => statSync(u, { throwIfNoEntry: false })?.mtimeMs ?? -1;
await import(mtime(bundle) >= mtime(compiled) ? bundle.href : compiled.href);
