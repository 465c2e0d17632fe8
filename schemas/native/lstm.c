/*
 * The tagger's (Bi)LSTM at inference, over the sentences of a packed batch, in C with AVX-512 or AVX2 and FMA
 * (models/layers/nativeLstm.ts calls it; models/layers/lstm.ts's `recurrence` is the definition it follows):
 *
 *   lstmPrepare(w, u, b, dims) -> Float32Array (the weights in the kernels' layout, made once per weights version)
 *   lstmPacked(prepared, x, starts, lengths, dims, out) -> undefined
 *   emissionsPacked(emb, prepared, linW, linB, lex, ids, feats, starts, lengths, dims, out) -> undefined
 *   lstmEngine() -> "avx512" | "avx2" | null (this thread's engine; null: this CPU has neither AVX-512F nor AVX2 and FMA, and
 *     the functions above throw), lstmEngines() -> the engines this CPU runs, fastest first,
 *   lstmUseEngine("avx512" | "avx2" | "auto") -> this thread's engine from now on (tests and benchmarks), lstmBf16(), lstmInt8() -> boolean
 *
 * w is a Float32Array [dirs, D, 4H], u [dirs, H, 4H], b [dirs, 4H]: the LstmEncoder's variables as they are,
 * gate columns in its order i, f, o, g; dims [D, H, dirs] (dirs 1 or 2). lstmPrepare packs them once per
 * weights version (the callers keep its output), so no call repacks them. x is a Float32Array [N, D], the N
 * characters' inputs on the flat axis; sentence j is rows starts[j] .. starts[j] + lengths[j] - 1 (Int32Arrays
 * [S], sentences must not overlap; rows of no sentence are left as they are). out, a Float32Array [N, dirs * H], receives each character's hidden
 * states, forward then backward: each sentence is run alone from the zero state, the backward direction
 * from its last character, so no padding and no separator is ever computed.
 *
 * How: step t advances every sentence longer than t at once (sentences sorted by length, longest first, so
 * those are a prefix of the state rows): one product [x, h] [W; U] + b over that prefix, the gates, the states. The products
 * run on a 6 x 32 AVX-512 FMA micro-kernel over [W; U] packed in 32-column panels; sigmoid and tanh use a
 * vectorised exp (degree-6 polynomial and scalef, about 2 ulp). The numbers therefore differ from
 * TensorFlow's BlockLSTM in the last bits (sums in another order, other exp); test/models/layers/
 * nativeLstm.test.ts bounds the difference.
 *
 * Engines: avx512 (above; also the bfloat16 products, VDPBF16PS, where the CPU has AVX512_BF16, and the int8 products, VPDPBUSD,
 * where it has AVX512_VNNI) and avx2, for CPUs
 * without AVX-512F: the same panels, each computed as two 6 x 16 tiles (one per half), and exp with 2^n made from
 * exponent bits instead of scalef. Both compute every element by the same chain of FMAs and the same exp, so they give
 * the same bits (nativeLstm.test.ts checks it). Each function has its own target attribute, so the addon builds with
 * the usual flags and loads on any x86-64; a thread runs on the fastest engine its CPU has, or lstmUseEngine's.
 */
#define _GNU_SOURCE /* qsort_r */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "native.h"

#define MR 6  /* rows of the micro-kernel */
#define NR 32 /* columns of the micro-kernel: two zmm registers */

/* The precision of the LSTM's products (emissionsPacked's dims[7]). */
enum { PREC_F32 = 0, PREC_BF16 = 1, PREC_INT8 = 2 };

static int has_avx512(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f");
}

static int has_avx2_fma(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* Packs B [k, n] (row stride n) into panels of NR columns, [ceil(n / NR), k, NR], zero-padded. */
static void pack_panels(const float *b, size_t k, size_t n, float *out) {
  size_t panels = (n + NR - 1) / NR;
  for (size_t p = 0; p < panels; p++)
    for (size_t r = 0; r < k; r++) {
      float *dst = out + (p * k + r) * NR;
      for (size_t c = 0; c < NR; c++) {
        size_t col = p * NR + c;
        dst[c] = col < n ? b[r * n + col] : 0.0f;
      }
    }
}

/*
 * The micro-kernels' tile, for vectors V of w floats (mm the intrinsics' prefix: __m512, _mm512, 16 for AVX-512; __m256,
 * _mm256, 8 for AVX2): rows 0-5 of 2w columns in the accumulators c00/c01 .. c50/c51 (columns 0 to w - 1 and w to 2w - 1), all
 * starting from the 2w-vector `init` (the same for every row) or zero; MF_STORE_TILE writes them to C (row stride ldc).
 */
#define MF_TILE_INIT(V, mm, w, init)                                                                             \
  V i0 = (init) ? mm##_loadu_ps(init) : mm##_setzero_ps();                                                       \
  V i1 = (init) ? mm##_loadu_ps((init) + (w)) : mm##_setzero_ps();                                               \
  V c00 = i0, c01 = i1, c10 = i0, c11 = i1, c20 = i0, c21 = i1, c30 = i0, c31 = i1, c40 = i0, c41 = i1, c50 = i0, c51 = i1;
#define MF_STORE_TILE(mm, w, c, ldc)                                                                             \
  mm##_storeu_ps((c), c00);                                                                                      \
  mm##_storeu_ps((c) + (w), c01);                                                                                \
  mm##_storeu_ps((c) + (ldc), c10);                                                                              \
  mm##_storeu_ps((c) + (ldc) + (w), c11);                                                                        \
  mm##_storeu_ps((c) + 2 * (ldc), c20);                                                                          \
  mm##_storeu_ps((c) + 2 * (ldc) + (w), c21);                                                                    \
  mm##_storeu_ps((c) + 3 * (ldc), c30);                                                                          \
  mm##_storeu_ps((c) + 3 * (ldc) + (w), c31);                                                                    \
  mm##_storeu_ps((c) + 4 * (ldc), c40);                                                                          \
  mm##_storeu_ps((c) + 4 * (ldc) + (w), c41);                                                                    \
  mm##_storeu_ps((c) + 5 * (ldc), c50);                                                                          \
  mm##_storeu_ps((c) + 5 * (ldc) + (w), c51);

/* The six rows of A a micro-kernel reads, a0 .. a5, `lda` elements of type T apart. */
#define MF_A_ROWS(T, a, lda) \
  const T *a0 = (a), *a1 = (a) + (lda), *a2 = (a) + 2 * (lda), *a3 = (a) + 3 * (lda), *a4 = (a) + 4 * (lda), *a5 = (a) + 5 * (lda);
/* STEP(row, its pointer) for each of the six rows: one k-step of a tile whose B vectors are b0, b1 and broadcast register x. */
#define MF_SIX_ROWS(STEP) STEP(0, a0) STEP(1, a1) STEP(2, a2) STEP(3, a3) STEP(4, a4) STEP(5, a5)

/*
 * The float32 micro-kernels' body: C[MR, 2w] (row stride ldc) = init + A[MR, k] (row stride lda) x the first 2w columns of a
 * panel [k, NR] (row stride NR), init the 2w-vector `init` (same for every row) or zero; each element one chain of FMAs in k order.
 */
#define MF_F32_KERNEL(V, mm, w)                                                                                  \
  const float *a = a_, *panel = panel_;                                                                          \
  MF_TILE_INIT(V, mm, w, init)                                                                                   \
  MF_A_ROWS(float, a, lda)                                                                                       \
  for (size_t p = 0; p < k; p++) {                                                                               \
    V b0 = mm##_loadu_ps(panel + p * NR), b1 = mm##_loadu_ps(panel + p * NR + (w)), x;                           \
    MF_FMA(mm, 0, a0)                                                                                            \
    MF_FMA(mm, 1, a1)                                                                                            \
    MF_FMA(mm, 2, a2)                                                                                            \
    MF_FMA(mm, 3, a3)                                                                                            \
    MF_FMA(mm, 4, a4)                                                                                            \
    MF_FMA(mm, 5, a5)                                                                                            \
  }                                                                                                              \
  MF_STORE_TILE(mm, w, c, ldc)
#define MF_FMA(mm, row, ar)                        \
  x = mm##_set1_ps(ar[p]);                         \
  c##row##0 = mm##_fmadd_ps(x, b0, c##row##0);     \
  c##row##1 = mm##_fmadd_ps(x, b1, c##row##1);

/* C[MR, NR] (row stride ldc) = init + A[MR, k] (row stride lda) x panel [k, NR], init the NR-vector `init` (same for every row) or zero. */
__attribute__((target("avx512f"))) static void kernel_6x32_avx512(size_t k, const void *a_, size_t lda, const void *panel_, float *c, size_t ldc,
                                                                 const float *init) {
  MF_F32_KERNEL(__m512, _mm512, 16)
}

/* kernel_6x32_avx512's tile on AVX2: 6 x 16 columns (12 accumulators, 2 loads of B and 1 broadcast: the 16 ymm registers). */
__attribute__((target("avx2,fma"))) static inline void kernel_6x16_avx2(size_t k, const void *a_, size_t lda, const void *panel_, float *c, size_t ldc,
                                                                       const float *init) {
  MF_F32_KERNEL(__m256, _mm256, 8)
}

/* kernel_6x32_avx512 on AVX2, over the same panels: the 6 x 16 tile on each half of the panel. The same FMA chains, so the same bits. */
__attribute__((target("avx2,fma"))) static void kernel_6x32_avx2(size_t k, const void *a, size_t lda, const void *panel, float *c, size_t ldc,
                                                                const float *init) {
  kernel_6x16_avx2(k, a, lda, panel, c, ldc, init);
  kernel_6x16_avx2(k, a, lda, (const float *)panel + NR / 2, c + NR / 2, ldc, init ? init + NR / 2 : NULL);
}

/*
 * int8 products (where the CPU has AVX512_VNNI, on request), dynamic quantisation: [W; U] quantised once per column
 * (scale max|B[:, c]| / 127, int8 in [-127, 127]), each row [x, h] of A at every step (scale max|A[r, :]| / 127, stored as
 * uint8 q + 128), VPDPBUSD summing four k-steps per instruction in int32 (stored as a float: exact while |sum| < 2^24, which k < 518
 * guarantees); then z = rowScale * (acc * colScale - 128 * colSum * colScale) + bias, colSum the column's int8
 * values (what the + 128 added). A quad holds rows 4q .. 4q + 3 of one column of B, or columns 4q .. 4q + 3 of one row of A;
 * k is padded with zero weights (and A with 128, which they cancel).
 */
static int has_vnni(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512vnni");
}

/* x rounded to the nearest integer (ties to even, as VCVTPS2DQ) and clamped to [-127, 127]: an int8 value of a scaled weight or input. */
static int to_i8(float x) {
  int v = (int)lrintf(x);
  return v > 127 ? 127 : v < -127 ? -127 : v;
}

/*
 * Packs B [k, n] into panels [ceil(n / NR), ceil(k / 4), NR] of int8 quads (zero-padded), with each column's scale
 * (max|B[:, c]| / 127, 1 for an all-zero or padding column) and its correction 128 x (sum of its int8 values) x scale.
 */
static void pack_panels_i8(const float *b, size_t k, size_t n, uint32_t *out, float *scales, float *corr) {
  size_t panels = (n + NR - 1) / NR, k4 = (k + 3) / 4;
  for (size_t col = 0; col < panels * NR; col++) {
    float m = 0.0f;
    if (col < n)
      for (size_t r = 0; r < k; r++) m = fabsf(b[r * n + col]) > m ? fabsf(b[r * n + col]) : m;
    scales[col] = m > 0.0f ? m / 127.0f : 1.0f;
    corr[col] = 0.0f; /* the sum first: whole numbers below 2^24 in magnitude, exact in a float */
  }
  for (size_t p = 0; p < panels; p++)
    for (size_t q = 0; q < k4; q++)
      for (size_t c = 0; c < NR; c++) {
        size_t col = p * NR + c;
        uint32_t quad = 0;
        for (size_t j = 0; j < 4; j++) {
          size_t r = 4 * q + j;
          int v = col < n && r < k ? to_i8(b[r * n + col] / scales[col]) : 0;
          corr[col] += (float)v;
          quad |= (uint32_t)(uint8_t)(int8_t)v << (8 * j);
        }
        out[(p * k4 + q) * NR + c] = quad;
      }
  for (size_t col = 0; col < panels * NR; col++) corr[col] *= 128.0f * scales[col];
}

/* Rows [m, k] (stride k) of floats to rows [m, ceil(k / 4)] of uint8 quads (q + 128), each row's scale in `scales`. */
__attribute__((target("avx512f,avx512bw"))) static void rows_to_u8(const float *a, size_t m, size_t k, uint32_t *out, float *scales) {
  size_t k4 = (k + 3) / 4;
  const __m512i off = _mm512_set1_epi32(128);
  for (size_t r = 0; r < m; r++) {
    const float *row = a + r * k;
    __m512 mv = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= k; i += 16) mv = _mm512_max_ps(mv, _mm512_abs_ps(_mm512_loadu_ps(row + i)));
    float mx = _mm512_reduce_max_ps(mv);
    for (size_t j = i; j < k; j++) mx = fabsf(row[j]) > mx ? fabsf(row[j]) : mx;
    float s = mx > 0.0f ? mx / 127.0f : 1.0f, inv = 127.0f / (mx > 0.0f ? mx : 127.0f);
    scales[r] = s;
    uint8_t *o = (uint8_t *)(out + r * k4);
    const __m512 vinv = _mm512_set1_ps(inv);
    for (i = 0; i + 16 <= k; i += 16) {
      __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(row + i), vinv)), off);
      q = _mm512_max_epi32(_mm512_min_epi32(q, _mm512_set1_epi32(255)), _mm512_set1_epi32(1));
      _mm_storeu_si128((__m128i *)(o + i), _mm512_cvtepi32_epi8(q));
    }
    for (; i < k; i++) o[i] = (uint8_t)(to_i8(row[i] * inv) + 128);
    for (; i < 4 * k4; i++) o[i] = 128;
  }
}

/* C[MR, NR] = A[MR, k4 quads] x panel [k4, NR] in int32, stored as floats (exact for k < 518). */
__attribute__((target("avx512f,avx512vnni"))) static void kernel_6x32_i8(size_t k4, const void *a_, size_t lda4, const void *panel_, float *c,
                                                                       size_t ldc, const float *init) {
  (void)init;
  const uint32_t *a = a_, *panel = panel_;
  __m512i i00 = _mm512_setzero_si512(), i01 = i00, i10 = i00, i11 = i00, i20 = i00, i21 = i00, i30 = i00, i31 = i00, i40 = i00, i41 = i00,
          i50 = i00, i51 = i00;
  MF_A_ROWS(uint32_t, a, lda4)
  for (size_t p = 0; p < k4; p++) {
    __m512i b0 = _mm512_loadu_si512(panel + p * NR), b1 = _mm512_loadu_si512(panel + p * NR + 16), x;
#define MF_VN(row, ar)                               \
  x = _mm512_set1_epi32((int)ar[p]);                 \
  i##row##0 = _mm512_dpbusd_epi32(i##row##0, x, b0); \
  i##row##1 = _mm512_dpbusd_epi32(i##row##1, x, b1);
    MF_SIX_ROWS(MF_VN)
#undef MF_VN
  }
  __m512 c00 = _mm512_cvtepi32_ps(i00), c01 = _mm512_cvtepi32_ps(i01), c10 = _mm512_cvtepi32_ps(i10), c11 = _mm512_cvtepi32_ps(i11),
         c20 = _mm512_cvtepi32_ps(i20), c21 = _mm512_cvtepi32_ps(i21), c30 = _mm512_cvtepi32_ps(i30), c31 = _mm512_cvtepi32_ps(i31),
         c40 = _mm512_cvtepi32_ps(i40), c41 = _mm512_cvtepi32_ps(i41), c50 = _mm512_cvtepi32_ps(i50), c51 = _mm512_cvtepi32_ps(i51);
  MF_STORE_TILE(_mm512, 16, c, ldc)
}

/* z[r, c] = rowScale[r] * (z[r, c] * colScale[c] - 128 * colSum[c] * colScale[c]) + bias[c], rows [m], columns [ldz]. */
__attribute__((target("avx512f"))) static void dequant(float *z, size_t m, size_t ldz, const float *rs, const float *cs, const float *corr,
                                                      const float *bias) {
  for (size_t r = 0; r < m; r++) {
    __m512 s = _mm512_set1_ps(rs[r]);
    for (size_t c = 0; c < ldz; c += 16) {
      __m512 v = _mm512_loadu_ps(z + r * ldz + c);
      v = _mm512_fmsub_ps(v, _mm512_loadu_ps(cs + c), _mm512_loadu_ps(corr + c));
      _mm512_storeu_ps(z + r * ldz + c, _mm512_fmadd_ps(v, s, _mm512_loadu_ps(bias + c)));
    }
  }
}

/* A micro-kernel: C[MR, NR] = init + A[MR, k] x panel [k, NR], over elements of 4 bytes (a float, or a pair of bfloat16). */
typedef void micro_kernel(size_t k, const void *a, size_t lda, const void *panel, float *c, size_t ldc, const float *init);

/*
 * C[m, panels * NR] (row stride ldc) = A[m, k] x packed B (+ init, a [panels * NR] row) by `kernel`, m rounded up to MR:
 * A and C must hold that many rows; k, lda and the panels count `kernel`'s 4-byte elements. Panel by panel, so that one
 * panel (k x NR elements) stays in L1.
 */
static void gemm(micro_kernel *kernel, size_t m, size_t k, const void *a, size_t lda, const void *packed, size_t panels, float *c, size_t ldc,
                 const float *init) {
  const uint32_t *a32 = a, *packed32 = packed;
  for (size_t p = 0; p < panels; p++) {
    const uint32_t *panel = packed32 + p * k * NR;
    for (size_t r = 0; r < m; r += MR) kernel(k, a32 + r * lda, lda, panel, c + r * ldc + p * NR, ldc, init ? init + p * NR : NULL);
  }
}

/*
 * bfloat16 products (where the CPU has AVX512_BF16, on request): A and B rounded to bfloat16 (to nearest even), products
 * summed in float32 by VDPBF16PS, two k-steps per instruction. A pair holds rows 2p (low half) and 2p + 1 of one column of B,
 * or columns 2p and 2p + 1 of one row of A; an odd k is padded with a zero.
 */
typedef uint32_t bf16x2;

static int has_bf16(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512bf16");
}

static uint32_t to_bf16(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (u >> 16) | 0x40u; /* NaN stays NaN */
  u += 0x7FFFu + ((u >> 16) & 1u);
  return u >> 16;
}

/* Packs B [k, n] into panels [ceil(n / NR), ceil(k / 2), NR] of bfloat16 pairs, zero-padded. */
static void pack_panels_bf16(const float *b, size_t k, size_t n, bf16x2 *out) {
  size_t panels = (n + NR - 1) / NR, k2 = (k + 1) / 2;
  for (size_t p = 0; p < panels; p++)
    for (size_t r = 0; r < k2; r++)
      for (size_t c = 0; c < NR; c++) {
        size_t col = p * NR + c;
        float lo = col < n ? b[2 * r * n + col] : 0.0f, hi = col < n && 2 * r + 1 < k ? b[(2 * r + 1) * n + col] : 0.0f;
        out[(p * k2 + r) * NR + c] = to_bf16(lo) | (to_bf16(hi) << 16);
      }
}

/* Rows [m, k] (stride k) of floats to rows [m, ceil(k / 2)] of bfloat16 pairs. */
static void rows_to_bf16(const float *a, size_t m, size_t k, bf16x2 *out) {
  size_t k2 = (k + 1) / 2;
  for (size_t r = 0; r < m; r++)
    for (size_t q = 0; q < k2; q++) {
      float lo = a[r * k + 2 * q], hi = 2 * q + 1 < k ? a[r * k + 2 * q + 1] : 0.0f;
      out[r * k2 + q] = to_bf16(lo) | (to_bf16(hi) << 16);
    }
}

/* kernel_6x32_avx512 on bfloat16 pairs: k2 pairs of A's rows (stride lda2 pairs) against a panel [k2, NR] of pairs. */
__attribute__((target("avx512f,avx512bf16"))) static void kernel_6x32_bf16(size_t k2, const void *a_, size_t lda2, const void *panel_, float *c,
                                                                         size_t ldc, const float *init) {
  const bf16x2 *a = a_, *panel = panel_;
  MF_TILE_INIT(__m512, _mm512, 16, init)
  MF_A_ROWS(bf16x2, a, lda2)
  for (size_t p = 0; p < k2; p++) {
    __m512bh b0 = (__m512bh)_mm512_loadu_si512(panel + p * NR), b1 = (__m512bh)_mm512_loadu_si512(panel + p * NR + 16), x;
#define MF_DP(row, ar)                                 \
  x = (__m512bh)_mm512_set1_epi32((int)ar[p]);         \
  c##row##0 = _mm512_dpbf16_ps(c##row##0, x, b0);      \
  c##row##1 = _mm512_dpbf16_ps(c##row##1, x, b1);
    MF_SIX_ROWS(MF_DP)
#undef MF_DP
  }
  MF_STORE_TILE(_mm512, 16, c, ldc)
}

/*
 * exp(x) on vectors V (intrinsics prefix mm; round(v) rounds to the nearest integer): x = n ln2 + r, |r| <= ln2 / 2,
 * exp(r) by its degree-6 Taylor polynomial in p, and n; each width then multiplies p by 2^n its own way.
 */
#define MF_EXP_POLY(V, mm, round, x)                                                                             \
  x = mm##_max_ps(mm##_min_ps(x, mm##_set1_ps(88.0f)), mm##_set1_ps(-104.0f));                                    \
  V n = round(mm##_mul_ps(x, mm##_set1_ps(1.44269504088896341f)));                                                \
  V r = mm##_fnmadd_ps(n, mm##_set1_ps(0.693359375f), x);                                                         \
  r = mm##_fnmadd_ps(n, mm##_set1_ps(-2.12194440e-4f), r);                                                        \
  V p = mm##_set1_ps(1.0f / 720);                                                                                 \
  p = mm##_fmadd_ps(p, r, mm##_set1_ps(1.0f / 120));                                                              \
  p = mm##_fmadd_ps(p, r, mm##_set1_ps(1.0f / 24));                                                               \
  p = mm##_fmadd_ps(p, r, mm##_set1_ps(1.0f / 6));                                                                \
  p = mm##_fmadd_ps(p, r, mm##_set1_ps(0.5f));                                                                    \
  p = mm##_fmadd_ps(p, r, mm##_set1_ps(1.0f));                                                                    \
  p = mm##_fmadd_ps(p, r, mm##_set1_ps(1.0f));

/*
 * sigmoid(x) = 1 / (1 + exp(-x)) and tanh(x) = 1 - 2 / (exp(2x) + 1) (exact at 0 and at saturation, absolute error
 * about 1e-7) on vectors V, from that width's exp: defines sigmoid<w> and tanh<w>.
 */
#define MF_ACTIVATIONS(target_isa, V, mm, w)                                                                     \
  __attribute__((target(target_isa))) static inline V sigmoid##w(V x) {                                          \
    const V one = mm##_set1_ps(1.0f);                                                                            \
    return mm##_div_ps(one, mm##_add_ps(one, exp##w(mm##_sub_ps(mm##_setzero_ps(), x))));                        \
  }                                                                                                              \
  __attribute__((target(target_isa))) static inline V tanh##w(V x) {                                             \
    const V one = mm##_set1_ps(1.0f);                                                                            \
    V e = exp##w(mm##_add_ps(x, x));                                                                             \
    return mm##_sub_ps(one, mm##_div_ps(mm##_set1_ps(2.0f), mm##_add_ps(e, one)));                               \
  }

#define MF_ROUND16(v) _mm512_roundscale_ps((v), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)

/* exp(x) for 16 lanes, 2^n by scalef. */
__attribute__((target("avx512f"))) static inline __m512 exp16(__m512 x) {
  MF_EXP_POLY(__m512, _mm512, MF_ROUND16, x)
  return _mm512_scalef_ps(p, n);
}

MF_ACTIVATIONS("avx512f", __m512, _mm512, 16)

/* One step's gates for one sentence from z [4H] (i, f, o, g pre-activations): cell c [H] and state h [H] updated in place, h also written to `out`. */
__attribute__((target("avx512f"))) static void gates_avx512(size_t hd, const float *z, float *c, float *h, float *out) {
  for (size_t j = 0; j < hd; j += 16) {
    __mmask16 m = hd - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (hd - j)) - 1);
    __m512 zi = _mm512_maskz_loadu_ps(m, z + j), zf = _mm512_maskz_loadu_ps(m, z + hd + j);
    __m512 zo = _mm512_maskz_loadu_ps(m, z + 2 * hd + j), zg = _mm512_maskz_loadu_ps(m, z + 3 * hd + j);
    __m512 cn = _mm512_fmadd_ps(sigmoid16(zf), _mm512_maskz_loadu_ps(m, c + j), _mm512_mul_ps(sigmoid16(zi), tanh16(zg)));
    __m512 hn = _mm512_mul_ps(sigmoid16(zo), tanh16(cn));
    _mm512_mask_storeu_ps(c + j, m, cn);
    _mm512_mask_storeu_ps(h + j, m, hn);
    _mm512_mask_storeu_ps(out + j, m, hn);
  }
}

#define MF_ROUND8(v) _mm256_round_ps((v), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)

/*
 * exp16 on 8 lanes (AVX2): the same clamp, reduction and polynomial, and 2^n from exponent bits. After the clamp n lies in
 * [-150, 127], past the normal exponents, so 2^n is applied as two normal factors, 2^(n >> 1) (p times it is exact) and then
 * 2^(n - (n >> 1)) (one rounding, into the subnormals where the result is that small): what scalef computes, bit for bit.
 */
__attribute__((target("avx2,fma"))) static inline __m256 exp8(__m256 x) {
  MF_EXP_POLY(__m256, _mm256, MF_ROUND8, x)
  const __m256i ni = _mm256_cvtps_epi32(n), n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1), bias = _mm256_set1_epi32(127);
  __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
  __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
  return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

MF_ACTIVATIONS("avx2,fma", __m256, _mm256, 8)

/* gates_avx512 on AVX2, 8 lanes at a time: the same operations, so the same bits. */
__attribute__((target("avx2,fma"))) static void gates_avx2(size_t hd, const float *z, float *c, float *h, float *out) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  for (size_t j = 0; j < hd; j += 8) {
    __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(hd - j >= 8 ? 8 : (int)(hd - j)), lane);
    __m256 zi = _mm256_maskload_ps(z + j, m), zf = _mm256_maskload_ps(z + hd + j, m);
    __m256 zo = _mm256_maskload_ps(z + 2 * hd + j, m), zg = _mm256_maskload_ps(z + 3 * hd + j, m);
    __m256 cn = _mm256_fmadd_ps(sigmoid8(zf), _mm256_maskload_ps(c + j, m), _mm256_mul_ps(sigmoid8(zi), tanh8(zg)));
    __m256 hn = _mm256_mul_ps(sigmoid8(zo), tanh8(cn));
    _mm256_maskstore_ps(c + j, m, cn);
    _mm256_maskstore_ps(h + j, m, hn);
    _mm256_maskstore_ps(out + j, m, hn);
  }
}

/*
 * The engines, fastest first: the float32 micro-kernel and the gates on one instruction set (bfloat16 products run on avx512
 * alone). Each thread uses the fastest its CPU runs, or the one lstmUseEngine chose in it (`chosen`, for tests and benchmarks).
 */
typedef void gates_fn(size_t hd, const float *z, float *c, float *h, float *out);
typedef struct {
  const char *name;
  int (*runs)(void); /* whether this CPU runs it */
  const char *needs; /* the instruction sets it needs */
  micro_kernel *kernel;
  gates_fn *gates;
} lstm_engine;

static const lstm_engine engines[] = {
    {"avx512", has_avx512, "AVX-512F", kernel_6x32_avx512, gates_avx512},
    {"avx2", has_avx2_fma, "AVX2 and FMA", kernel_6x32_avx2, gates_avx2},
};
#define N_ENGINES (sizeof engines / sizeof engines[0])

static _Thread_local const lstm_engine *chosen;

/* The engine this thread runs on, or NULL where the CPU runs none. */
static const lstm_engine *engine_in_use(void) {
  if (chosen) return chosen;
  for (size_t i = 0; i < N_ENGINES; i++)
    if (engines[i].runs()) return &engines[i];
  return NULL;
}

/*
 * The LSTM's weights in the kernels' layout (lstmPrepare), per direction: [W; U] packed in panels ([ceil(4H / NR), D + H, NR]),
 * the bias padded to whole panels, where the CPU has AVX512_BF16 the same panels as bfloat16 pairs, and where it has AVX512_VNNI
 * as int8 quads with their columns' scales and 128 x sum x scale (four bytes each). Offsets in floats. One
 * layout for every engine (it depends on the CPU alone), so prepared weights stay valid when lstmUseEngine changes the engine.
 */
typedef struct {
  size_t panels32[2], bias[2], panels16[2], panels8[2], scales8[2], corr8[2], total;
} prepared_layout;

static prepared_layout layout_of(size_t dirs, size_t d, size_t hd) {
  const size_t k = d + hd, panels = (4 * hd + NR - 1) / NR, k2 = (k + 1) / 2;
  prepared_layout l = {{0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, 0};
  for (size_t dir = 0; dir < dirs; dir++) {
    l.panels32[dir] = l.total;
    l.total += panels * k * NR;
    l.bias[dir] = l.total;
    l.total += panels * NR;
    if (has_bf16()) {
      l.panels16[dir] = l.total;
      l.total += panels * k2 * NR; /* bf16x2 elements are 4 bytes, as floats */
    }
    if (has_vnni()) {
      l.panels8[dir] = l.total;
      l.total += panels * ((k + 3) / 4) * NR;
      l.scales8[dir] = l.total;
      l.total += panels * NR;
      l.corr8[dir] = l.total;
      l.total += panels * NR;
    }
  }
  return l;
}

/* Fills `out` (layout_of(dirs, d, hd).total floats) from the LstmEncoder's w [dirs, D, 4H], u [dirs, H, 4H], b [dirs, 4H]; 0 when out of memory. */
static int prepare_weights(const float *w, const float *u, const float *b, size_t dirs, size_t d, size_t hd, float *out) {
  const size_t k = d + hd, g4 = 4 * hd, ldz = (g4 + NR - 1) / NR * NR;
  const prepared_layout l = layout_of(dirs, d, hd);
  float *wu = malloc(k * g4 * sizeof(float));
  if (!wu) return 0;
  for (size_t dir = 0; dir < dirs; dir++) {
    memcpy(wu, w + dir * d * g4, d * g4 * sizeof(float));
    memcpy(wu + d * g4, u + dir * hd * g4, hd * g4 * sizeof(float));
    pack_panels(wu, k, g4, out + l.panels32[dir]);
    if (has_bf16()) pack_panels_bf16(wu, k, g4, (bf16x2 *)(out + l.panels16[dir]));
    if (has_vnni()) pack_panels_i8(wu, k, g4, (uint32_t *)(out + l.panels8[dir]), out + l.scales8[dir], out + l.corr8[dir]);
    memcpy(out + l.bias[dir], b + dir * g4, g4 * sizeof(float));
    memset(out + l.bias[dir] + g4, 0, (ldz - g4) * sizeof(float));
  }
  free(wu);
  return 1;
}

/* The LSTM's inputs: the prepared weights, x rows of D floats at stride ldx, out rows written at stride ldo (forward at 0, backward at H). */
typedef struct {
  const float *prepared, *x;
  const int32_t *starts, *lengths;
  size_t dirs, d, hd, n, s, ldx, ldo;
  float *out;
  int precision; /* PREC_*: the caller checked that the engine is avx512 and the CPU has AVX512_BF16 (bfloat16) or AVX512_VNNI (int8) */
  const lstm_engine *engine;
} lstm_input;

static int by_length_desc(const void *pa, const void *pb, void *lengths) {
  int32_t la = ((const int32_t *)lengths)[*(const int32_t *)pa], lb = ((const int32_t *)lengths)[*(const int32_t *)pb];
  if (la != lb) return la > lb ? -1 : 1;
  return *(const int32_t *)pa - *(const int32_t *)pb;
}

static size_t round_up(size_t v, size_t to) { return (v + to - 1) / to * to; }

/*
 * Runs both directions; 0 when out of memory. Per step, row r of `a` is [x, h] of the r-th longest sentence
 * (its input at this step, its state from the last), so one product a [W; U] + b gives the gates'
 * pre-activations: nothing of size N is kept besides the output, and the working set stays in cache.
 */
static int lstm_run(const lstm_input *in) {
  const size_t d = in->d, hd = in->hd, k = d + hd, panels = (4 * hd + NR - 1) / NR, ldz = panels * NR;
  const size_t spad = round_up(in->s, MR);
  const prepared_layout l = layout_of(in->dirs, d, hd);
  int32_t *order = malloc((in->s > 0 ? in->s : 1) * sizeof *order);
  float *a = aligned_alloc(64, round_up(spad * k * sizeof(float), 64));
  float *z = aligned_alloc(64, round_up(spad * ldz * sizeof(float), 64));
  float *cs = aligned_alloc(64, round_up(spad * hd * sizeof(float), 64));
  const size_t k2 = (k + 1) / 2, k4 = (k + 3) / 4;
  bf16x2 *a2 = in->precision == PREC_BF16 ? aligned_alloc(64, round_up(spad * k2 * sizeof(bf16x2), 64)) : NULL;
  uint32_t *a8 = in->precision == PREC_INT8 ? aligned_alloc(64, round_up(spad * k4 * sizeof(uint32_t), 64)) : NULL;
  float *rs = in->precision == PREC_INT8 ? aligned_alloc(64, round_up(spad * sizeof(float), 64)) : NULL;
  int ok = order && a && z && cs && (in->precision != PREC_BF16 || a2) && (in->precision != PREC_INT8 || (a8 && rs));
  if (ok) {
    for (size_t j = 0; j < in->s; j++) order[j] = (int32_t)j;
    qsort_r(order, in->s, sizeof *order, by_length_desc, (void *)in->lengths);
    size_t longest = in->s > 0 ? (size_t)in->lengths[order[0]] : 0;
    for (size_t dir = 0; dir < in->dirs; dir++) {
      const float *packed = in->prepared + l.panels32[dir], *bias = in->prepared + l.bias[dir];
      const float *packed2 = in->prepared + l.panels16[dir];
      const float *packed8 = in->prepared + l.panels8[dir], *cs8 = in->prepared + l.scales8[dir], *corr8 = in->prepared + l.corr8[dir];
      memset(a, 0, spad * k * sizeof(float));
      memset(cs, 0, spad * hd * sizeof(float));
      size_t active = in->s;
      for (size_t t = 0; t < longest; t++) {
        while (active > 0 && (size_t)in->lengths[order[active - 1]] <= t) active--;
        for (size_t r = 0; r < active; r++) {
          size_t len = (size_t)in->lengths[order[r]], pos = (size_t)in->starts[order[r]] + (dir == 0 ? t : len - 1 - t);
          memcpy(a + r * k, in->x + pos * in->ldx, d * sizeof(float));
        }
        if (in->precision == PREC_INT8) {
          rows_to_u8(a, round_up(active, MR), k, a8, rs);
          gemm(kernel_6x32_i8, round_up(active, MR), k4, a8, k4, packed8, panels, z, ldz, NULL);
          dequant(z, active, ldz, rs, cs8, corr8, bias);
        } else if (in->precision == PREC_BF16) {
          rows_to_bf16(a, round_up(active, MR), k, a2);
          gemm(kernel_6x32_bf16, round_up(active, MR), k2, a2, k2, packed2, panels, z, ldz, bias);
        } else {
          gemm(in->engine->kernel, round_up(active, MR), k, a, k, packed, panels, z, ldz, bias);
        }
        for (size_t r = 0; r < active; r++) {
          size_t len = (size_t)in->lengths[order[r]], pos = (size_t)in->starts[order[r]] + (dir == 0 ? t : len - 1 - t);
          in->engine->gates(hd, z + r * ldz, cs + r * hd, a + r * k + d, in->out + pos * in->ldo + dir * hd);
        }
      }
    }
  }
  free(order);
  free(a);
  free(z);
  free(cs);
  free(a2);
  free(a8);
  free(rs);
  return ok;
}

/*
 * A head's emissions over the same sentences (models/network/nativeHead.ts): out [N, K] = [h, e] W + b + the sum
 * of the lexical table's rows of each position's F feature ids, where e is the character's embedding row and h
 * its LSTM states (either left out by use_hidden / use_embeddings, as the head's config says).
 */
typedef struct {
  const float *emb, *prepared, *lin_w, *lin_b, *lex;
  const int32_t *ids, *feats, *starts, *lengths;
  size_t dirs, d, hd, k, f, n, s;
  int use_hidden, use_embeddings, precision;
  float *out;
  const lstm_engine *engine;
} head_input;

/* 0 when out of memory. */
static int head_run(const head_input *e) {
  const size_t hw = e->use_hidden ? e->dirs * e->hd : 0, ld = hw + e->d, in_dim = hw + (e->use_embeddings ? e->d : 0);
  const size_t npad = round_up(e->n, MR), panels = (e->k + NR - 1) / NR, ldz = panels * NR;
  float *buf = aligned_alloc(64, round_up(npad * ld * sizeof(float), 64));
  float *packed = in_dim > 0 ? aligned_alloc(64, round_up(panels * in_dim * NR * sizeof(float), 64)) : NULL;
  float *bias = aligned_alloc(64, round_up(ldz * sizeof(float), 64));
  float *z = aligned_alloc(64, round_up(npad * ldz * sizeof(float), 64));
  int ok = buf && (packed || in_dim == 0) && bias && z;
  if (ok) {
    memset(buf, 0, npad * ld * sizeof(float));
    for (size_t j = 0; j < e->s; j++)
      for (int32_t p = 0; p < e->lengths[j]; p++) {
        size_t pos = (size_t)e->starts[j] + (size_t)p;
        memcpy(buf + pos * ld + hw, e->emb + (size_t)e->ids[pos] * e->d, e->d * sizeof(float));
      }
    if (e->use_hidden) {
      lstm_input in = {e->prepared, buf + hw, e->starts, e->lengths, e->dirs, e->d, e->hd, e->n, e->s, ld, ld, buf, e->precision, e->engine};
      ok = lstm_run(&in);
    }
  }
  if (ok) {
    memset(bias, 0, ldz * sizeof(float));
    if (in_dim > 0) {
      memcpy(bias, e->lin_b, e->k * sizeof(float));
      pack_panels(e->lin_w, in_dim, e->k, packed);
      gemm(e->engine->kernel, npad, in_dim, buf, ld, packed, panels, z, ldz, bias);
    }
    for (size_t j = 0; j < e->s; j++)
      for (int32_t p = 0; p < e->lengths[j]; p++) {
        size_t pos = (size_t)e->starts[j] + (size_t)p;
        float *o = e->out + pos * e->k;
        const float *lin = z + pos * ldz;
        for (size_t c = 0; c < e->k; c++) o[c] = 0.0f;
        for (size_t q = 0; q < e->f; q++) {
          const float *row = e->lex + (size_t)e->feats[pos * e->f + q] * e->k;
          for (size_t c = 0; c < e->k; c++) o[c] += row[c];
        }
        if (in_dim > 0)
          for (size_t c = 0; c < e->k; c++) o[c] = lin[c] + o[c];
      }
  }
  free(buf);
  free(packed);
  free(bias);
  free(z);
  return ok;
}

/* 1 when every sentence lies inside [0, n) and no two share a row; 0 when not; -1 when out of memory. */
static int sentences_ok(const int32_t *starts, const int32_t *lengths, size_t s, size_t n) {
  uint8_t *seen = calloc(n > 0 ? n : 1, 1);
  if (!seen) return -1;
  int ok = 1;
  for (size_t j = 0; ok && j < s; j++) {
    int32_t st = starts[j], len = lengths[j];
    if (st < 0 || len < 0 || (size_t)st > n || (size_t)len > n - (size_t)st) ok = 0;
    for (int32_t p = 0; p < len && ok; p++) ok = seen[st + p]++ == 0;
  }
  free(seen);
  return ok;
}

/* Throws the RangeError (with `usage`) or the out-of-memory error of a sentences_ok result other than 1; returns it. */
static int check_sentences(napi_env env, const char *usage, const int32_t *starts, const int32_t *lengths, size_t s, size_t n) {
  int ok = sentences_ok(starts, lengths, s, n);
  if (ok < 0) napi_throw_error(env, "ERR_MEMORY", "out of memory");
  if (ok == 0) napi_throw_range_error(env, "ERR_OUT_OF_RANGE", usage);
  return ok;
}

/* This thread's engine; NULL (and throws) where the CPU runs none. */
static const lstm_engine *need_engine(napi_env env, const char *fn) {
  const lstm_engine *engine = engine_in_use();
  if (engine) return engine;
  char msg[160];
  snprintf(msg, sizeof msg, "%s: this CPU lacks AVX2 and FMA (lstmEngine() is null)", fn);
  napi_throw_error(env, "ERR_UNSUPPORTED", msg);
  return NULL;
}

/* Reads dims [D, H, dirs] (each >= 1, dirs 1 or 2); 0 when they are not that. */
static int lstm_dims(const int32_t *dims, size_t n_dims, size_t *d, size_t *hd, size_t *dirs) {
  if (n_dims < 3 || dims[0] < 1 || dims[1] < 1 || (dims[2] != 1 && dims[2] != 2)) return 0;
  *d = (size_t)dims[0];
  *hd = (size_t)dims[1];
  *dirs = (size_t)dims[2];
  return 1;
}

napi_value mf_lstm_prepare(napi_env env, napi_callback_info info) {
  static const char usage[] =
      "lstmPrepare(w: Float32Array [dirs*D*4H], u: Float32Array [dirs*H*4H], b: Float32Array [dirs*4H], dims: Int32Array [D, H, dirs]) -> "
      "Float32Array";
  size_t argc = 4, nw, nu, nb, nd;
  napi_value argv[4];
  void *w, *u, *b, *dims;
  size_t d, hd, dirs;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4 || !mf_typed_arg(env, argv[0], napi_float32_array, &w, &nw) ||
      !mf_typed_arg(env, argv[1], napi_float32_array, &u, &nu) || !mf_typed_arg(env, argv[2], napi_float32_array, &b, &nb) ||
      !mf_typed_arg(env, argv[3], napi_int32_array, &dims, &nd)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", usage);
    return NULL;
  }
  if (!need_engine(env, "lstmPrepare")) return NULL;
  if (!lstm_dims(dims, nd, &d, &hd, &dirs) || nw != dirs * d * 4 * hd || nu != dirs * hd * 4 * hd || nb != dirs * 4 * hd) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", usage);
    return NULL;
  }
  const size_t total = layout_of(dirs, d, hd).total;
  void *data;
  napi_value buffer, out;
  if (napi_create_arraybuffer(env, total * sizeof(float), &data, &buffer) != napi_ok ||
      napi_create_typedarray(env, napi_float32_array, total, buffer, 0, &out) != napi_ok || !prepare_weights(w, u, b, dirs, d, hd, data)) {
    napi_throw_error(env, "ERR_MEMORY", "lstmPrepare: out of memory");
    return NULL;
  }
  return out;
}

/* 1 when `prepared` (n floats) is lstmPrepare's output for these dims on this CPU; else throws the RangeError with `usage`. */
static int check_prepared(napi_env env, const char *usage, size_t n, size_t dirs, size_t d, size_t hd) {
  if (n == layout_of(dirs, d, hd).total) return 1;
  napi_throw_range_error(env, "ERR_OUT_OF_RANGE", usage);
  return 0;
}

napi_value mf_lstm_packed(napi_env env, napi_callback_info info) {
  static const char usage[] =
      "lstmPacked(prepared: Float32Array (lstmPrepare's), x: Float32Array [N*D], starts: Int32Array [S], lengths: Int32Array [S], dims: "
      "Int32Array [D, H, dirs], out: Float32Array [N*dirs*H]), sentences inside [0, N)";
  size_t argc = 6;
  napi_value argv[6];
  void *prepared, *x, *starts, *lengths, *dims, *out;
  size_t np, nx, ns, nl, nd, nout, d, hd, dirs;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 6 || !mf_typed_arg(env, argv[0], napi_float32_array, &prepared, &np) ||
      !mf_typed_arg(env, argv[1], napi_float32_array, &x, &nx) || !mf_typed_arg(env, argv[2], napi_int32_array, &starts, &ns) ||
      !mf_typed_arg(env, argv[3], napi_int32_array, &lengths, &nl) || !mf_typed_arg(env, argv[4], napi_int32_array, &dims, &nd) ||
      !mf_typed_arg(env, argv[5], napi_float32_array, &out, &nout)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", usage);
    return NULL;
  }
  const lstm_engine *engine = need_engine(env, "lstmPacked");
  if (!engine) return NULL;
  size_t n = 0;
  if (!lstm_dims(dims, nd, &d, &hd, &dirs) || nx % d != 0 || (n = nx / d) == 0 || ns != nl || nout != n * dirs * hd) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", usage);
    return NULL;
  }
  if (!check_prepared(env, usage, np, dirs, d, hd) || check_sentences(env, usage, starts, lengths, ns, n) != 1) return NULL;
  lstm_input in = {prepared, x, starts, lengths, dirs, d, hd, n, ns, d, dirs * hd, out, 0, engine};
  if (!lstm_run(&in)) {
    napi_throw_error(env, "ERR_MEMORY", "lstmPacked: out of memory");
    return NULL;
  }
  return NULL;
}

/* An engine's name as a JS value, null for none. */
static napi_value engine_name(napi_env env, const lstm_engine *engine) {
  napi_value v;
  if (!engine) napi_get_null(env, &v);
  else napi_create_string_utf8(env, engine->name, NAPI_AUTO_LENGTH, &v);
  return v;
}

napi_value mf_lstm_engine(napi_env env, napi_callback_info info) {
  (void)info;
  return engine_name(env, engine_in_use());
}

napi_value mf_lstm_engines(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value list;
  uint32_t n = 0;
  if (napi_create_array(env, &list) != napi_ok) return NULL;
  for (size_t i = 0; i < N_ENGINES; i++)
    if (engines[i].runs() && napi_set_element(env, list, n++, engine_name(env, &engines[i])) != napi_ok) return NULL;
  return list;
}

napi_value mf_lstm_use_engine(napi_env env, napi_callback_info info) {
  static const char usage[] = "lstmUseEngine(engine: \"avx512\" | \"avx2\" | \"auto\") -> the engine now in use in this thread";
  size_t argc = 1, len = 0;
  napi_value argv[1];
  char name[16];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", usage);
    return NULL;
  }
  if (strcmp(name, "auto") == 0) {
    chosen = NULL;
    return engine_name(env, engine_in_use());
  }
  for (size_t i = 0; i < N_ENGINES; i++) {
    if (strcmp(name, engines[i].name) != 0) continue;
    if (!engines[i].runs()) {
      char msg[200];
      snprintf(msg, sizeof msg, "lstmUseEngine: this CPU lacks %s, which the %s engine needs (lstmEngines() lists those it runs)", engines[i].needs,
               engines[i].name);
      napi_throw_error(env, "ERR_UNSUPPORTED", msg);
      return NULL;
    }
    chosen = &engines[i];
    return engine_name(env, chosen);
  }
  napi_throw_range_error(env, "ERR_OUT_OF_RANGE", usage);
  return NULL;
}

napi_value mf_emissions_packed(napi_env env, napi_callback_info info) {
  static const char usage[] =
      "emissionsPacked(emb: Float32Array [V*D], prepared: Float32Array (lstmPrepare's, or empty without useHidden), linW: Float32Array [I*K], "
      "linB [K], lex: Float32Array [buckets*K], ids: Int32Array [N], feats: Int32Array [N*F], starts: Int32Array [S], lengths: Int32Array [S], "
      "dims: Int32Array [D, H, dirs, K, F, useHidden, useEmbeddings, bfloat16], out: Float32Array [N*K]), I = useHidden*dirs*H + "
      "useEmbeddings*D, ids in [0, V), feats in [0, buckets), sentences inside [0, N)";
  enum { EMB, PREPARED, LIN_W, LIN_B, LEX, IDS, FEATS, STARTS, LENGTHS, DIMS, OUT, ARGS };
  size_t argc = ARGS;
  napi_value argv[ARGS];
  const napi_typedarray_type types[ARGS] = {napi_float32_array, napi_float32_array, napi_float32_array, napi_float32_array,
                                            napi_float32_array, napi_int32_array,   napi_int32_array,   napi_int32_array,
                                            napi_int32_array,   napi_int32_array,   napi_float32_array};
  void *data[ARGS];
  size_t len[ARGS];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < ARGS) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", usage);
    return NULL;
  }
  for (int a = 0; a < ARGS; a++)
    if (!mf_typed_arg(env, argv[a], types[a], &data[a], &len[a])) {
      napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", usage);
      return NULL;
    }
  const lstm_engine *engine = need_engine(env, "emissionsPacked");
  if (!engine) return NULL;
  const int32_t *dims = data[DIMS];
  head_input e = {.emb = data[EMB], .prepared = data[PREPARED], .lin_w = data[LIN_W], .lin_b = data[LIN_B], .lex = data[LEX], .ids = data[IDS],
                  .feats = data[FEATS], .starts = data[STARTS], .lengths = data[LENGTHS], .out = data[OUT], .n = len[IDS], .s = len[STARTS],
                  .engine = engine};
  if (len[DIMS] != 8 || !lstm_dims(dims, 3, &e.d, &e.hd, &e.dirs) || dims[3] < 1 || dims[4] < 0 || (dims[5] != 0 && dims[5] != 1) ||
      (dims[6] != 0 && dims[6] != 1) || (dims[7] < 0 || dims[7] > 2)) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", usage);
    return NULL;
  }
  e.k = (size_t)dims[3];
  e.f = (size_t)dims[4];
  e.use_hidden = dims[5];
  e.use_embeddings = dims[6];
  e.precision = dims[7];
  size_t in_dim = (e.use_hidden ? e.dirs * e.hd : 0) + (e.use_embeddings ? e.d : 0);
  size_t vocab = len[EMB] / e.d, buckets = len[LEX] / e.k;
  int bad = len[EMB] % e.d != 0 || len[LENGTHS] != e.s || len[OUT] != e.n * e.k || len[FEATS] != e.n * e.f || (e.f > 0 && len[LEX] % e.k != 0) ||
            len[LIN_W] != in_dim * e.k || len[LIN_B] != (in_dim > 0 ? e.k : 0) || e.n == 0 || (in_dim == 0 && e.f == 0) ||
            (!e.use_hidden && len[PREPARED] != 0);
  for (size_t i = 0; !bad && i < e.n; i++) bad = e.ids[i] < 0 || (size_t)e.ids[i] >= vocab;
  for (size_t i = 0; !bad && i < e.n * e.f; i++) bad = e.feats[i] < 0 || (size_t)e.feats[i] >= buckets;
  if (bad) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", usage);
    return NULL;
  }
  if ((e.use_hidden && !check_prepared(env, usage, len[PREPARED], e.dirs, e.d, e.hd)) || check_sentences(env, usage, e.starts, e.lengths, e.s, e.n) != 1)
    return NULL;
  if (e.precision == PREC_INT8 && !has_vnni()) {
    napi_throw_error(env, "ERR_UNSUPPORTED", "emissionsPacked: int8 products need AVX512_VNNI, which this CPU lacks (lstmInt8() is false)");
    return NULL;
  }
  if (e.precision == PREC_BF16 && !has_bf16()) {
    napi_throw_error(env, "ERR_UNSUPPORTED", "emissionsPacked: bfloat16 products need AVX512_BF16, which this CPU lacks (lstmBf16() is false)");
    return NULL;
  }
  if (e.precision != PREC_F32 && engine != &engines[0]) {
    napi_throw_error(env, "ERR_UNSUPPORTED",
                     "emissionsPacked: bfloat16 and int8 products run on the avx512 engine only, and this thread uses avx2 (lstmBf16() and lstmInt8() are false)");
    return NULL;
  }
  if (!head_run(&e)) {
    napi_throw_error(env, "ERR_MEMORY", "emissionsPacked: out of memory");
    return NULL;
  }
  return NULL;
}

napi_value mf_lstm_bf16(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  napi_get_boolean(env, engine_in_use() == &engines[0] && has_bf16(), &v);
  return v;
}

napi_value mf_lstm_int8(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  napi_get_boolean(env, engine_in_use() == &engines[0] && has_vnni(), &v);
  return v;
}
