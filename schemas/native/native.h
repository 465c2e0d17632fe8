/* The functions of mentionflow's addon (addon.c exports them; see each file's header). */
#ifndef MENTIONFLOW_NATIVE_H
#define MENTIONFLOW_NATIVE_H
#include <node_api.h>

/* addon.c: a typed array argument of the given type, its data and element count; 0 when it is not one. */
int mf_typed_arg(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *length);

/*
 * deflate.c: deflateRaw(input: Uint8Array, level: 1..12) -> Buffer (libdeflate),
 * isalDeflateRaw(input: Uint8Array, level: 0..3) -> Buffer (ISA-L), isalStatus() -> string | null;
 * their per-environment state.
 */
napi_value mf_deflate_raw(napi_env env, napi_callback_info info);
napi_value mf_isal_deflate_raw(napi_env env, napi_callback_info info);
napi_value mf_isal_status(napi_env env, napi_callback_info info);
napi_status mf_deflate_init(napi_env env);

/* postscan.c: checkPosts(data, starts, ends, status, createdAt) -> undefined; for tests, utf8Check(input, scalar) -> boolean and utf8Engine() -> string. */
napi_value mf_check_posts(napi_env env, napi_callback_info info);
napi_value mf_check_post(napi_env env, napi_callback_info info);
napi_value mf_utf8_check(napi_env env, napi_callback_info info);
napi_value mf_utf8_engine(napi_env env, napi_callback_info info);

/* crf.c: crfViterbi(...) -> score, crfForwardBackward(...) -> logZ (the tagger's CRF decoding); for tests, crfMath(which, x). */
napi_value mf_crf_viterbi(napi_env env, napi_callback_info info);
napi_value mf_crf_forward_backward(napi_env env, napi_callback_info info);
napi_value mf_crf_math(napi_env env, napi_callback_info info);

/*
 * lstm.c: lstmPrepare(w, u, b, dims) -> Float32Array (the LSTM's weights in the kernels' layout), lstmPacked(prepared, x, starts,
 * lengths, dims, out) -> undefined (the tagger's LSTM at inference), emissionsPacked(emb, prepared, linW, linB, lex, ids, feats,
 * starts, lengths, dims, out) -> undefined (a head's emissions), lstmEngine() -> "avx512" | "avx2" | null (this thread's),
 * lstmEngines() -> the engines this CPU runs, lstmUseEngine(name) -> this thread's engine from now on (for tests and benchmarks),
 * lstmBf16() -> whether emissionsPacked can compute the LSTM's products in bfloat16; lstmInt8() -> the same for int8.
 */
napi_value mf_lstm_prepare(napi_env env, napi_callback_info info);
napi_value mf_lstm_packed(napi_env env, napi_callback_info info);
napi_value mf_emissions_packed(napi_env env, napi_callback_info info);
napi_value mf_lstm_bf16(napi_env env, napi_callback_info info);
napi_value mf_lstm_int8(napi_env env, napi_callback_info info);
napi_value mf_lstm_engine(napi_env env, napi_callback_info info);
napi_value mf_lstm_engines(napi_env env, napi_callback_info info);
napi_value mf_lstm_use_engine(napi_env env, napi_callback_info info);

#endif
