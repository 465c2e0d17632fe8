/*
 * The linear-chain CRF's decoders in C, for the tagger's decoding (models/crf/native.ts calls them;
 * models/crf/viterbi.ts and models/crf/forwardBackward.ts are the TypeScript definitions they follow):
 *
 *   crfViterbi(trans, start, end, data, offset, length, path) -> score
 *   crfForwardBackward(expT, start, end, data, offset, length, aS, aLog, bS, bLog) -> logZ
 *
 * trans is a Float32Array [K*K] (from * K + to), expT a Float64Array of their exps (forwardBackward.ts
 * computes it once per CrfScores), start and end Float32Arrays [K], data a Float32Array
 * holding the sentence's emissions [length, K] from element `offset`; path an Int32Array of at least
 * `length` entries, aS and bS Float64Arrays of at least length*K, aLog and bLog of at least length.
 *
 * Both give the same numbers as the TypeScript, bit for bit: the same float64 operations in the same
 * order for each value (no reassociation, no fused multiply-add: binding.gyp builds with
 * -ffp-contract=off; the loops over a transposed matrix keep each sum's order and let the compiler
 * use vector instructions across the independent sums), and
 * exp and log are fdlibm's, as V8's Math.exp and Math.log are (src/base/ieee754.cc), rather than
 * libm's, whose last bit may differ. test/models/crf/native.test.ts checks all three against
 * TypeScript on random inputs.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "native.h"

static uint32_t high_word(double x) {
  uint64_t u;
  memcpy(&u, &x, sizeof u);
  return (uint32_t)(u >> 32);
}

static uint32_t low_word(double x) {
  uint64_t u;
  memcpy(&u, &x, sizeof u);
  return (uint32_t)u;
}

static double from_words(uint32_t hi, uint32_t lo) {
  uint64_t u = ((uint64_t)hi << 32) | lo;
  double x;
  memcpy(&x, &u, sizeof x);
  return x;
}

/* fdlibm's e_exp.c as V8 has it (src/base/ieee754.cc, exp). */
static double mf_exp(double x) {
  static const double one = 1.0, halF[2] = {0.5, -0.5}, o_threshold = 7.09782712893383973096e+02,
                      u_threshold = -7.45133219101941108420e+02, ln2HI[2] = {6.93147180369123816490e-01, -6.93147180369123816490e-01},
                      ln2LO[2] = {1.90821492927058770002e-10, -1.90821492927058770002e-10}, invln2 = 1.44269504088896338700e+00,
                      P1 = 1.66666666666666019037e-01, P2 = -2.77777777770155933842e-03, P3 = 6.61375632143793436117e-05,
                      P4 = -1.65339022054652515390e-06, P5 = 4.13813679705723846039e-08, E = 2.718281828459045;
  static volatile double huge = 1.0e+300, twom1000 = 9.33263618503218878990e-302, two1023 = 8.988465674311579539e307;
  double y, hi = 0.0, lo = 0.0, c, t, twopk;
  int32_t k = 0, xsb;
  uint32_t hx = high_word(x);
  xsb = (int32_t)((hx >> 31) & 1);
  hx &= 0x7FFFFFFF;
  if (hx >= 0x40862E42) {
    if (hx >= 0x7FF00000) {
      if (((hx & 0xFFFFF) | low_word(x)) != 0) return x + x;
      return (xsb == 0) ? x : 0.0;
    }
    if (x > o_threshold) return huge * huge;
    if (x < u_threshold) return twom1000 * twom1000;
  }
  if (hx > 0x3FD62E42) {
    if (hx < 0x3FF0A2B2) {
      if (x == 1.0) return E;
      hi = x - ln2HI[xsb];
      lo = ln2LO[xsb];
      k = 1 - xsb - xsb;
    } else {
      k = (int32_t)(invln2 * x + halF[xsb]);
      t = k;
      hi = x - t * ln2HI[0];
      lo = t * ln2LO[0];
    }
    x = hi - lo;
  } else if (hx < 0x3E300000) {
    if (huge + x > one) return one + x;
  } else {
    k = 0;
  }
  t = x * x;
  if (k >= -1021) {
    twopk = from_words((uint32_t)(0x3FF00000 + (k * (1 << 20))), 0);
  } else {
    twopk = from_words((uint32_t)(0x3FF00000 + ((k + 1000) * (1 << 20))), 0);
  }
  c = x - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
  if (k == 0) return one - ((x * c) / (c - 2.0) - x);
  y = one - ((lo - (x * c) / (2.0 - c)) - hi);
  if (k >= -1021) {
    if (k == 1024) return y * 2.0 * two1023;
    return y * twopk;
  }
  return y * twopk * twom1000;
}

/* fdlibm's e_log.c as V8 has it (src/base/ieee754.cc, log). */
static double mf_log(double x) {
  static const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10, two54 = 1.80143985094819840000e+16,
                      Lg1 = 6.666666666666735130e-01, Lg2 = 3.999999999940941908e-01, Lg3 = 2.857142874366239149e-01,
                      Lg4 = 2.222219843214978396e-01, Lg5 = 1.818357216161805012e-01, Lg6 = 1.531383769920937332e-01,
                      Lg7 = 1.479819860511658591e-01;
  static const double zero = 0.0;
  static volatile double vzero = 0.0;
  double hfsq, f, s, z, R, w, t1, t2, dk;
  int32_t k = 0, hx = (int32_t)high_word(x), i, j;
  uint32_t lx = low_word(x);
  if (hx < 0x00100000) {
    if (((hx & 0x7FFFFFFF) | (int32_t)lx) == 0) return -two54 / vzero;
    if (hx < 0) return (x - x) / zero;
    k -= 54;
    x *= two54;
    hx = (int32_t)high_word(x);
  }
  if (hx >= 0x7FF00000) return x + x;
  k += (hx >> 20) - 1023;
  hx &= 0x000FFFFF;
  i = (hx + 0x95F64) & 0x100000;
  x = from_words((uint32_t)(hx | (i ^ 0x3FF00000)), low_word(x));
  k += (i >> 20);
  f = x - 1.0;
  if ((0x000FFFFF & (2 + hx)) < 3) {
    if (f == zero) {
      if (k == 0) return zero;
      dk = (double)k;
      return dk * ln2_hi + dk * ln2_lo;
    }
    R = f * f * (0.5 - 0.33333333333333333 * f);
    if (k == 0) return f - R;
    dk = (double)k;
    return dk * ln2_hi - ((R - dk * ln2_lo) - f);
  }
  s = f / (2.0 + f);
  dk = (double)k;
  z = s * s;
  i = hx - 0x6147A;
  w = z * z;
  j = 0x6B851 - hx;
  t1 = w * (Lg2 + w * (Lg4 + w * Lg6));
  t2 = z * (Lg1 + w * (Lg3 + w * (Lg5 + w * Lg7)));
  i |= j;
  R = t2 + t1;
  if (i > 0) {
    hfsq = 0.5 * f * f;
    if (k == 0) return f - (hfsq - s * (hfsq + R));
    return dk * ln2_hi - ((hfsq - (s * (hfsq + R) + dk * ln2_lo)) - f);
  }
  if (k == 0) return f - s * (f - R);
  return dk * ln2_hi - ((s * (f - R) - dk * ln2_lo) - f);
}

/* The arguments both decoders share: the CRF's scores and one sentence's emissions. */
typedef struct {
  const void *trans; /* float [K*K] for Viterbi, double [K*K] (exps) for forward-backward */
  const float *start, *end, *data;
  size_t k, length;
} crf_input;

/* Reads argv[0..5] into `in` (argv[0] of type `first`); on a wrong argument throws (named after `fn`) and returns 0. */
static int crf_args(napi_env env, const char *fn, napi_value *argv, napi_typedarray_type first, crf_input *in) {
  void *trans, *start, *end, *data;
  size_t n_trans, n_start, n_end, n_data;
  double offset, length;
  if (!mf_typed_arg(env, argv[0], first, &trans, &n_trans) || !mf_typed_arg(env, argv[1], napi_float32_array, &start, &n_start) ||
      !mf_typed_arg(env, argv[2], napi_float32_array, &end, &n_end) || !mf_typed_arg(env, argv[3], napi_float32_array, &data, &n_data) ||
      napi_get_value_double(env, argv[4], &offset) != napi_ok || napi_get_value_double(env, argv[5], &length) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", fn);
    return 0;
  }
  size_t k = n_start;
  if (k == 0 || n_end != k || n_trans != k * k || !(offset >= 0) || !(length >= 1) || offset != floor(offset) || length != floor(length) ||
      offset > (double)n_data || length > ((double)n_data - offset) / (double)k) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", fn);
    return 0;
  }
  in->trans = trans;
  in->start = start;
  in->end = end;
  in->data = (const float *)data + (size_t)offset;
  in->k = k;
  in->length = (size_t)length;
  return 1;
}

/* models/crf/viterbi.ts's loop; the best path into `path`, its score returned. work: K*K + 2K doubles. */
static double viterbi(const crf_input *in, int32_t *path, int32_t *back, double *work) {
  const size_t k = in->k, n = in->length;
  const float *trans = in->trans;
  double *into = work, *prev = work + k * k, *cur = prev + k; /* into[j*K+i]: the score of i -> j */
  for (size_t i = 0; i < k; i++)
    for (size_t j = 0; j < k; j++) into[j * k + i] = (double)trans[i * k + j];
  for (size_t j = 0; j < k; j++) prev[j] = (double)in->start[j] + (double)in->data[j];
  for (size_t t = 1; t < n; t++) {
    const float *row = in->data + t * k;
    for (size_t j = 0; j < k; j++) {
      const double *to_j = into + j * k;
      double best = -INFINITY;
      int32_t arg = 0;
      for (size_t i = 0; i < k; i++) {
        double s = prev[i] + to_j[i];
        if (s > best) {
          best = s;
          arg = (int32_t)i;
        }
      }
      cur[j] = best + (double)row[j];
      back[t * k + j] = arg;
    }
    double *tmp = prev;
    prev = cur;
    cur = tmp;
  }
  double best = -INFINITY;
  int32_t arg = 0;
  for (size_t j = 0; j < k; j++) {
    double s = prev[j] + (double)in->end[j];
    if (s > best) {
      best = s;
      arg = (int32_t)j;
    }
  }
  path[n - 1] = arg;
  for (size_t t = n - 1; t > 0; t--) path[t - 1] = back[t * k + (size_t)path[t]];
  return best;
}

napi_value mf_crf_viterbi(napi_env env, napi_callback_info info) {
  static const char usage[] = "crfViterbi(trans: Float32Array [K*K], start, end: Float32Array [K], data: Float32Array, offset, length >= 1, path: Int32Array [length])";
  size_t argc = 7;
  napi_value argv[7];
  crf_input in;
  void *path;
  size_t n_path;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 7) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", usage);
    return NULL;
  }
  if (!crf_args(env, usage, argv, napi_float32_array, &in)) return NULL;
  if (!mf_typed_arg(env, argv[6], napi_int32_array, &path, &n_path) || n_path < in.length) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", usage);
    return NULL;
  }
  int32_t *back = malloc(in.length * in.k * sizeof *back);
  double *scratch = malloc((in.k * in.k + 2 * in.k) * sizeof *scratch);
  if (back == NULL || scratch == NULL) {
    free(back);
    free(scratch);
    napi_throw_error(env, "ERR_MEMORY", "crfViterbi: out of memory");
    return NULL;
  }
  double score = viterbi(&in, path, back, scratch);
  free(back);
  free(scratch);
  napi_value result;
  if (napi_create_double(env, score, &result) != napi_ok) return NULL;
  return result;
}

/* models/crf/forwardBackward.ts's recursions, scaled; the scaled vectors and log scales into the four outputs, logZ returned. */
static double forward_backward(const crf_input *in, double *aS, double *aLog, double *bS, double *bLog, double *work) {
  const size_t k = in->k, n = in->length;
  const double *expT = in->trans;
  double *expInto = work, *e = work + k * k, *m = e + n * k, *next = m + n; /* expInto[j*K+i] = expT[i*K+j] */
  for (size_t i = 0; i < k; i++)
    for (size_t j = 0; j < k; j++) expInto[j * k + i] = expT[i * k + j];
  for (size_t t = 0; t < n; t++) {
    double max = -INFINITY;
    const float *row = in->data + t * k;
    for (size_t j = 0; j < k; j++) {
      double x = (double)row[j] + (t == 0 ? (double)in->start[j] : 0.0);
      e[t * k + j] = x;
      if (x > max) max = x;
    }
    for (size_t j = 0; j < k; j++) e[t * k + j] = mf_exp(e[t * k + j] - max);
    m[t] = max;
  }
  memset(aS, 0, n * k * sizeof *aS);
  double sum = 0;
  for (size_t j = 0; j < k; j++) sum += (aS[j] = e[j]);
  double logScale = m[0] + mf_log(sum);
  for (size_t j = 0; j < k; j++) aS[j] /= sum;
  aLog[0] = logScale;
  for (size_t t = 1; t < n; t++) {
    const double *prev = aS + (t - 1) * k;
    double *cur = aS + t * k;
    for (size_t i = 0; i < k; i++) {
      const double ai = prev[i];
      if (ai == 0) continue;
      const double *ti = expT + i * k;
      for (size_t j = 0; j < k; j++) cur[j] += ai * ti[j];
    }
    sum = 0;
    for (size_t j = 0; j < k; j++) sum += (cur[j] *= e[t * k + j]);
    logScale += m[t] + mf_log(sum);
    for (size_t j = 0; j < k; j++) cur[j] /= sum;
    aLog[t] = logScale;
  }
  double z = 0, mEnd = -INFINITY;
  for (size_t j = 0; j < k; j++) mEnd = fmax(mEnd, (double)in->end[j]);
  const size_t last = (n - 1) * k;
  for (size_t j = 0; j < k; j++) z += aS[last + j] * mf_exp((double)in->end[j] - mEnd);
  const double logZ = logScale + mEnd + mf_log(z);
  for (size_t j = 0; j < k; j++) bS[last + j] = mf_exp((double)in->end[j] - mEnd);
  double bScale = mEnd;
  bLog[n - 1] = bScale;
  for (size_t t = n - 1; t-- > 0;) {
    const size_t after = (t + 1) * k, cur = t * k;
    for (size_t j = 0; j < k; j++) next[j] = e[after + j] * bS[after + j];
    /* bS[cur+i] = sum over j ascending of expT[i*K+j] * next[j], the K sums side by side */
    double *b = bS + cur;
    for (size_t i = 0; i < k; i++) b[i] = 0;
    for (size_t j = 0; j < k; j++) {
      const double nj = next[j], *from = expInto + j * k;
      for (size_t i = 0; i < k; i++) b[i] += from[i] * nj;
    }
    sum = 0;
    for (size_t i = 0; i < k; i++) sum += b[i];
    bScale += m[t + 1] + mf_log(sum);
    for (size_t i = 0; i < k; i++) bS[cur + i] /= sum;
    bLog[t] = bScale;
  }
  return logZ;
}

napi_value mf_crf_forward_backward(napi_env env, napi_callback_info info) {
  static const char usage[] =
      "crfForwardBackward(expT: Float64Array [K*K], start, end: Float32Array [K], data: Float32Array, offset, length >= 1, aS: Float64Array "
      "[length*K], aLog: Float64Array [length], bS: Float64Array [length*K], bLog: Float64Array [length])";
  size_t argc = 10;
  napi_value argv[10];
  crf_input in;
  void *out[4];
  size_t n_out[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 10) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", usage);
    return NULL;
  }
  if (!crf_args(env, usage, argv, napi_float64_array, &in)) return NULL;
  for (int a = 0; a < 4; a++) {
    size_t need = a % 2 == 0 ? in.length * in.k : in.length;
    if (!mf_typed_arg(env, argv[6 + a], napi_float64_array, &out[a], &n_out[a]) || n_out[a] < need) {
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", usage);
      return NULL;
    }
  }
  double *work = calloc(in.k * in.k + in.length * in.k + in.length + in.k, sizeof *work); /* zeroed: gcc cannot see every read follows a write */
  if (work == NULL) {
    napi_throw_error(env, "ERR_MEMORY", "crfForwardBackward: out of memory");
    return NULL;
  }
  double logZ = forward_backward(&in, out[0], out[1], out[2], out[3], work);
  free(work);
  napi_value result;
  if (napi_create_double(env, logZ, &result) != napi_ok) return NULL;
  return result;
}

/* For tests: fdlibm's exp (which 0) or log (which 1) of x, as the decoders compute it. */
napi_value mf_crf_math(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  uint32_t which;
  double x;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || napi_get_value_uint32(env, argv[0], &which) != napi_ok ||
      napi_get_value_double(env, argv[1], &x) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "crfMath(which: 0 (exp) | 1 (log), x: number)");
    return NULL;
  }
  napi_value result;
  if (napi_create_double(env, which == 0 ? mf_exp(x) : mf_log(x), &result) != napi_ok) return NULL;
  return result;
}
