/**
 * mulberry32: a small seeded PRNG in [0, 1) for tests and benchmarks. Every seeded test draws
 * from it, so a failure replays from the seed it prints. (The Raft simulator keeps its own
 * xoshiro128** in test/sim/prng.ts: it needs independent, splittable streams.)
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
