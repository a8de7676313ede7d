#!/usr/bin/env node
// The bundled CLI (npm run build makes it: scripts/bundle-cli.ts) starts in two thirds of the
// time; a tree built by tsc alone runs the separate modules.
import { existsSync } from 'node:fs';

const bundle = new URL('../build/src/cli/tswarm.bundle.js', import.meta.url);
await import(existsSync(bundle) ? bundle.href : '../build/src/cli/bin.js');
