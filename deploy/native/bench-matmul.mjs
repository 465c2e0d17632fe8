#!/usr/bin/env node
// 1024x1024 float32 matMul, repeated, on tfjs-node's native backend
// ("tensorflow") and on tfjs' pure-JS "cpu" backend (and "wasm" when asked).
//
//   node deploy/native/bench-matmul.mjs [backend ...]   (default: tensorflow cpu)
//   BENCH_N=1024 BENCH_REPS=20 node deploy/native/bench-matmul.mjs tensorflow cpu wasm
//
// Each repetition is timed up to dataSync(), so the result is really computed.
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
process.env.TF_CPP_MIN_LOG_LEVEL ??= '1';
const tf = require('@tensorflow/tfjs-node');

const N = Number(process.env.BENCH_N || 1024);
const REPS = Number(process.env.BENCH_REPS || 20);
const backends = process.argv.slice(2).length ? process.argv.slice(2) : ['tensorflow', 'cpu'];

function inputs() {
  let s = 12345;
  const r = () => { s = (s * 16807) % 2147483647; return s / 2147483647 - 0.5; };
  return [Float32Array.from({ length: N * N }, r), Float32Array.from({ length: N * N }, r)];
}
const [aData, bData] = inputs();
const median = (xs) => { const s = [...xs].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

const rows = [];
let reference = null;
for (const name of backends) {
  if (name === 'wasm') require('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend(name))) throw new Error(`backend ${name} failed to initialise`);
  await tf.ready();
  const a = tf.tensor2d(aData, [N, N]); const b = tf.tensor2d(bData, [N, N]);
  tf.tidy(() => tf.matMul(a, b).dataSync()); // warm-up
  const times = [];
  let out = null;
  for (let i = 0; i < REPS; i++) {
    const t0 = performance.now();
    const c = tf.matMul(a, b);
    const d = c.dataSync();
    times.push(performance.now() - t0);
    if (i === REPS - 1) out = d.slice(0, 4096);
    c.dispose();
  }
  a.dispose(); b.dispose();
  let maxDiff = 0;
  if (reference) for (let i = 0; i < out.length; i++) maxDiff = Math.max(maxDiff, Math.abs(out[i] - reference[i]));
  else reference = out;
  const med = median(times);
  rows.push({ backend: name, median_ms: +med.toFixed(1), min_ms: +Math.min(...times).toFixed(1),
    max_ms: +Math.max(...times).toFixed(1), gflops: +((2 * N ** 3) / (med * 1e6)).toFixed(2),
    maxAbsDiffVsFirst: maxDiff });
  console.log(`${name}: median ${med.toFixed(1)} ms over ${REPS} x matMul ${N}x${N}`);
}
console.table(rows);
if (rows.length > 1) {
  for (const r of rows.slice(1)) console.log(`${rows[0].backend} is ${(r.median_ms / rows[0].median_ms).toFixed(1)}x faster than ${r.backend}`);
}
