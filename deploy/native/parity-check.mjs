#!/usr/bin/env node
// Numeric parity of tfjs-node's native backend ("tensorflow", libtensorflow
// from deploy/native/install-libtensorflow.sh) against tfjs' pure-JS "cpu"
// backend. Every case runs on both backends with the same inputs (seeded
// PRNG) and the results are compared element-wise.
//
//   node deploy/native/parity-check.mjs
//
// Exit 0 when every case is within tolerance, 1 otherwise. Prints one line
// per case: max |diff|, max relative diff and the verdict.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
process.env.TF_CPP_MIN_LOG_LEVEL ??= '1';
const tf = require('@tensorflow/tfjs-node');

// ---- deterministic inputs ------------------------------------------------
function mulberry32(seed) {
  return () => {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const size = (shape) => shape.reduce((a, b) => a * b, 1);
function randArr(shape, seed, lo = -1, hi = 1) {
  const r = mulberry32(seed);
  return Float32Array.from({ length: size(shape) }, () => lo + (hi - lo) * r());
}
function randInts(n, seed, max) {
  const r = mulberry32(seed);
  return Int32Array.from({ length: n }, () => Math.floor(r() * max));
}
const rnd = (shape, seed, lo, hi) => tf.tensor(randArr(shape, seed, lo, hi), shape);

// ---- cases: each returns a tensor, an array of tensors or plain JS data ------
const cases = {
  'matMul 64x128 . 128x32': () => tf.matMul(rnd([64, 128], 1), rnd([128, 32], 2)),
  'matMul transposeA+B': () => tf.matMul(rnd([128, 64], 3), rnd([32, 128], 4), true, true),
  'batched matMul 4x16x8 . 4x8x12': () => tf.matMul(rnd([4, 16, 8], 5), rnd([4, 8, 12], 6)),
  'fused matMul+bias+relu (_FusedMatMul)': () =>
    tf.fused.matMul({ a: rnd([32, 64], 7), b: rnd([64, 16], 8), bias: rnd([16], 9), activation: 'relu' }),
  'einsum bij,bjk->bik': () => tf.einsum('bij,bjk->bik', rnd([3, 5, 7], 10), rnd([3, 7, 2], 11)),
  'conv2d same s1': () => tf.conv2d(rnd([2, 16, 16, 3], 12), rnd([3, 3, 3, 8], 13), 1, 'same'),
  'conv2d valid s2': () => tf.conv2d(rnd([2, 17, 17, 3], 14), rnd([5, 5, 3, 4], 15), 2, 'valid'),
  'conv2d dilation 2': () => tf.conv2d(rnd([1, 20, 20, 2], 16), rnd([3, 3, 2, 4], 17), 1, 'same', 'NHWC', 2),
  'conv1d (char CNN) same': () => tf.conv1d(rnd([2, 20, 16], 18), rnd([3, 16, 32], 19), 1, 'same'),
  'depthwiseConv2d': () => tf.depthwiseConv2d(rnd([1, 12, 12, 4], 20), rnd([3, 3, 4, 2], 21), 1, 'same'),
  'fused conv2d+bias+relu': () =>
    tf.fused.conv2d({ x: rnd([1, 10, 10, 3], 22), filter: rnd([3, 3, 3, 5], 23), strides: 1, pad: 'same',
      bias: rnd([5], 24), activation: 'relu' }),
  'maxPool / avgPool': () => {
    const x = rnd([2, 9, 9, 3], 25);
    return [tf.maxPool(x, 3, 2, 'same'), tf.avgPool(x, 2, 2, 'valid')];
  },
  'gather (embedding lookup)': () =>
    tf.gather(rnd([100, 16], 26), tf.tensor2d(randInts(40, 27, 100), [8, 5], 'int32')),
  'gatherND': () => tf.gatherND(rnd([6, 5, 4], 28), tf.tensor2d([[0, 1], [5, 4], [2, 2]], [3, 2], 'int32')),
  'unsortedSegmentSum': () =>
    tf.unsortedSegmentSum(rnd([50, 8], 29), tf.tensor1d(randInts(50, 30, 7), 'int32'), 7),
  'softmax / logSoftmax / logSumExp': () => {
    const x = rnd([6, 10], 31, -5, 5);
    return [tf.softmax(x), tf.logSoftmax(x), tf.logSumExp(x, 1), tf.logSumExp(x, 0, true)];
  },
  'unary math': () => {
    const x = rnd([200], 32, -3, 3);
    const p = rnd([200], 33, 0.01, 4);
    return [tf.sigmoid(x), tf.tanh(x), tf.relu(x), tf.elu(x), tf.exp(x), tf.log(p), tf.sqrt(p), tf.rsqrt(p),
      tf.softplus(x), tf.erf(x), tf.selu(x), tf.leakyRelu(x, 0.1), tf.square(x), tf.abs(x)];
  },
  'binary + broadcast': () => {
    const a = rnd([4, 1, 6], 34); const b = rnd([5, 6], 35, 0.5, 2);
    return [tf.add(a, b), tf.sub(a, b), tf.mul(a, b), tf.div(a, b), tf.pow(tf.abs(a), b), tf.maximum(a, b),
      tf.squaredDifference(a, b)];
  },
  'reductions / argMax / topk / cumsum': () => {
    const x = rnd([7, 13], 36);
    const tk = tf.topk(x, 3);
    return [tf.sum(x), tf.mean(x, 1), tf.max(x, 0), tf.min(x), tf.prod(tf.add(x, 1.5), 1),
      tf.argMax(x, 1), tf.argMin(x, 0), tk.values, tk.indices, tf.cumsum(x, 1), tf.cumsum(x, 0, true, true)];
  },
  'large sum (1M elements)': () => tf.sum(rnd([1000, 1000], 37)),
  'int32 / bool ops': () => {
    const a = tf.tensor1d(randInts(64, 38, 1000), 'int32');
    const b = tf.add(tf.tensor1d(randInts(64, 39, 50), 'int32'), tf.scalar(1, 'int32'));
    const m = tf.greater(a, 500);
    return [tf.add(a, b), tf.mul(a, b), tf.floorDiv(a, b), tf.mod(a, b), m, tf.logicalAnd(m, tf.less(b, 20)),
      tf.where(m, a, b), tf.cast(a, 'float32')];
  },
  'oneHot / concat / stack / slice / transpose / pad / tile / reverse': () => {
    const x = rnd([3, 4, 5], 40);
    return [tf.oneHot(tf.tensor1d([0, 3, 2, 7], 'int32'), 8), tf.concat([x, x], 2), tf.stack([x, x], 1),
      tf.slice(x, [1, 0, 2], [2, 3, 2]), tf.stridedSlice(x, [0, 0, 0], [3, 4, 5], [1, 2, 2]),
      tf.transpose(x, [2, 0, 1]), tf.pad(x, [[1, 0], [0, 2], [1, 1]], 0.5), tf.tile(x, [1, 2, 1]),
      tf.reverse(x, 1), ...tf.split(x, [2, 3], 2)];
  },
  'resizeBilinear': () => tf.image.resizeBilinear(rnd([1, 5, 7, 2], 41), [9, 4]),
  'grads: tanh(xW) (tf.grads)': () => {
    const f = (x, w) => tf.sum(tf.square(tf.tanh(tf.matMul(x, w))));
    return tf.grads(f)([rnd([8, 12], 42), rnd([12, 6], 43)]);
  },
  'grads: conv2d (x and filter)': () => {
    const f = (x, w) => tf.sum(tf.relu(tf.conv2d(x, w, 1, 'same')));
    return tf.grads(f)([rnd([1, 8, 8, 3], 44), rnd([3, 3, 3, 4], 45)]);
  },
  'grad: gather + unsortedSegmentSum': () => {
    const ids = tf.tensor1d(randInts(30, 46, 10), 'int32');
    const seg = tf.tensor1d(randInts(30, 47, 4), 'int32');
    const f = (table) => tf.sum(tf.sigmoid(tf.unsortedSegmentSum(tf.gather(table, ids), seg, 4)));
    return tf.grad(f)(rnd([10, 6], 48));
  },
  'CRF forward algorithm + its gradient (logSumExp, gather)': () => {
    // log-partition of a linear-chain CRF over T=6 steps, K=5 tags, and the
    // gradient wrt emissions and transitions.
    const f = (emis, trans) => {
      let alpha = tf.gather(emis, 0);
      for (let t = 1; t < 6; t++) {
        alpha = tf.add(tf.logSumExp(tf.add(tf.expandDims(alpha, 1), trans), 0), tf.gather(emis, t));
      }
      return tf.logSumExp(alpha);
    };
    const emis = rnd([6, 5], 49, -2, 2); const trans = rnd([5, 5], 50, -1, 1);
    return [f(emis, trans), ...tf.grads(f)([emis, trans])];
  },
  'basicLSTMCell x5 steps': () => {
    const k = rnd([8 + 6, 4 * 6], 51, -0.3, 0.3); const bias = rnd([4 * 6], 52, -0.1, 0.1);
    let c = tf.zeros([3, 6]); let h = tf.zeros([3, 6]);
    for (let t = 0; t < 5; t++) [c, h] = tf.basicLSTMCell(tf.scalar(1.0), k, bias, rnd([3, 8], 60 + t), c, h);
    return [c, h];
  },
  'strings: concat / unique / regex replace (TF_STRING, UTF-8)': () => {
    const s = tf.tensor1d(['微博', 'mention', '实体识别', '', 'Peng & Dredze', 'mention']);
    const u = tf.unique(tf.concat([s, s]));
    return [tf.concat([s, s]), u.values, u.indices, tf.string.staticRegexReplace(s, '[a-z]', '#')];
  },
};

// BiLSTM layer: same weights on both backends, predict, then 3 SGD steps.
async function bilstmCase() {
  const build = () => {
    const m = tf.sequential();
    m.add(tf.layers.embedding({ inputDim: 50, outputDim: 8, inputLength: 7 }));
    m.add(tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 6, returnSequences: true }), mergeMode: 'concat' }));
    m.add(tf.layers.timeDistributed({ layer: tf.layers.dense({ units: 4, activation: 'softmax' }) }));
    m.compile({ optimizer: tf.train.sgd(0.5), loss: 'categoricalCrossentropy' });
    let seed = 100;
    m.setWeights(m.getWeights().map((w) => tf.tensor(randArr(w.shape, seed++, -0.4, 0.4), w.shape)));
    return m;
  };
  const m = build();
  const x = tf.tensor2d(randInts(5 * 7, 70, 50), [5, 7], 'int32');
  const y = tf.oneHot(tf.tensor2d(randInts(5 * 7, 71, 4), [5, 7], 'int32'), 4).toFloat();
  const pred = m.predict(x).arraySync();
  const h = await m.fit(x, y, { epochs: 3, batchSize: 5, shuffle: false, verbose: 0 });
  const weights = m.getWeights().map((w) => w.arraySync());
  return [pred, h.history.loss, weights];
}

// ---- run -------------------------------------------------------------------
const toData = (out) => {
  if (out instanceof tf.Tensor) return { dtype: out.dtype, shape: out.shape, data: out.arraySync() };
  if (Array.isArray(out)) return out.map(toData);
  return out;
};

async function runAll(backend) {
  await tf.setBackend(backend);
  const results = {};
  for (const [name, fn] of Object.entries(cases)) results[name] = tf.tidy(() => toData(fn()));
  results['BiLSTM layer: predict + 3 SGD steps (tf.layers)'] = await bilstmCase();
  tf.disposeVariables();
  return results;
}

function compare(a, b, acc) {
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) { acc.mismatch = 'structure/shape'; return; }
    a.forEach((v, i) => compare(v, b[i], acc));
  } else if (a && typeof a === 'object') {
    if (a.dtype !== b.dtype) acc.mismatch = `dtype ${a.dtype} vs ${b.dtype}`;
    if (JSON.stringify(a.shape) !== JSON.stringify(b.shape)) acc.mismatch = `shape ${a.shape} vs ${b.shape}`;
    compare(a.data, b.data, acc);
  } else if (typeof a === 'number' && typeof b === 'number') {
    const d = Math.abs(a - b);
    acc.maxAbs = Math.max(acc.maxAbs, d);
    acc.maxRel = Math.max(acc.maxRel, d / Math.max(Math.abs(b), 1e-3));
    if (!(d <= acc.atol + acc.rtol * Math.abs(b))) acc.bad++;
    acc.n++;
  } else {
    if (a !== b) acc.bad++;
    acc.n++;
  }
}

const nativeRes = await runAll('tensorflow');
const cpuRes = await runAll('cpu');
await tf.setBackend('tensorflow');

console.log(`tfjs ${tf.version.tfjs}, libtensorflow ${tf.engine().findBackend('tensorflow').binding.TF_Version}`);
console.log('case'.padEnd(64), 'n'.padStart(7), 'maxAbsDiff'.padStart(11), 'maxRelDiff'.padStart(11), ' verdict');
let failures = 0;
for (const name of Object.keys(nativeRes)) {
  const acc = { maxAbs: 0, maxRel: 0, bad: 0, n: 0, atol: 1e-4, rtol: 1e-3, mismatch: null };
  compare(nativeRes[name], cpuRes[name], acc);
  const ok = acc.bad === 0 && !acc.mismatch;
  if (!ok) failures++;
  console.log(name.padEnd(64), String(acc.n).padStart(7), acc.maxAbs.toExponential(2).padStart(11),
    acc.maxRel.toExponential(2).padStart(11), ok ? ' ok' : ` FAIL (${acc.mismatch ?? `${acc.bad} elements off`})`);
}
console.log(failures === 0 ? 'parity: all cases within atol=1e-4 + rtol=1e-3'
  : `parity: ${failures} case(s) outside tolerance`);
process.exit(failures === 0 ? 0 : 1);
