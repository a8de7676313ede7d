// Runs a benchmark over the build: see scripts/bench.ts.
import '../build/scripts/bench.js';
