/*
 * mentionflow's native addon (schemas/nativeAddon.ts loads it; deploy/native/build-native-addon.sh
 * builds it): raw DEFLATE with libdeflate or ISA-L for the container's deflate codec (deflate.c), and the
 * archive sink's Post check over a fetched batch (postscan.c), and the tagger's CRF decoders (crf.c) and LSTM (lstm.c, AVX-512 or AVX2), and the CPU's features (cpuFeatures, for the
 * native TensorFlow backend's check in models/backend.ts). Everything it does has a TypeScript
 * path too, used where the addon is not built.
 */
#include <node_api.h>

#include "native.h"

int mf_typed_arg(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *length) {
  napi_typedarray_type type;
  bool is_typed = false;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed) return 0;
  if (napi_get_typedarray_info(env, v, &type, length, data, NULL, NULL) != napi_ok || type != want) return 0;
  return 1;
}

/*
 * cpuFeatures() -> the names, among "sse4.2", "avx", "avx2", "fma", "avx512f", "avx512bf16" and "avx512vnni", of
 * those this CPU has and its OS has enabled (libgcc's CPUID and XGETBV checks, as the kernels' dispatch uses):
 * what the process can execute, also under an emulated or masked CPU model, where /proc/cpuinfo may show the host's.
 */
static napi_value mf_cpu_features(napi_env env, napi_callback_info info) {
  (void)info;
  __builtin_cpu_init();
  const struct {
    const char *name;
    int on;
  } features[] = {
      {"sse4.2", __builtin_cpu_supports("sse4.2")},   {"avx", __builtin_cpu_supports("avx")},
      {"avx2", __builtin_cpu_supports("avx2")},       {"fma", __builtin_cpu_supports("fma")},
      {"avx512f", __builtin_cpu_supports("avx512f")}, {"avx512bf16", __builtin_cpu_supports("avx512bf16")},
      {"avx512vnni", __builtin_cpu_supports("avx512vnni")},
  };
  napi_value list, name;
  uint32_t n = 0;
  if (napi_create_array(env, &list) != napi_ok) return NULL;
  for (size_t i = 0; i < sizeof features / sizeof features[0]; i++) {
    if (!features[i].on) continue;
    if (napi_create_string_utf8(env, features[i].name, NAPI_AUTO_LENGTH, &name) != napi_ok || napi_set_element(env, list, n++, name) != napi_ok) return NULL;
  }
  return list;
}

NAPI_MODULE_INIT() {
  if (mf_deflate_init(env) != napi_ok) {
    napi_throw_error(env, "ERR_INTERNAL", "mentionflow native addon: cannot set up its state");
    return NULL;
  }
  static const struct {
    const char *name;
    napi_callback fn;
  } functions[] = {
      {"deflateRaw", mf_deflate_raw},   {"isalDeflateRaw", mf_isal_deflate_raw}, {"isalStatus", mf_isal_status}, {"checkPosts", mf_check_posts},
      {"checkPost", mf_check_post},     {"utf8Check", mf_utf8_check},            {"utf8Engine", mf_utf8_engine},
      {"crfViterbi", mf_crf_viterbi},   {"crfForwardBackward", mf_crf_forward_backward}, {"crfMath", mf_crf_math},
      {"lstmPrepare", mf_lstm_prepare}, {"lstmPacked", mf_lstm_packed},   {"emissionsPacked", mf_emissions_packed}, {"lstmEngine", mf_lstm_engine},
      {"lstmBf16", mf_lstm_bf16},       {"lstmInt8", mf_lstm_int8},       {"lstmEngines", mf_lstm_engines}, {"lstmUseEngine", mf_lstm_use_engine},
      {"cpuFeatures", mf_cpu_features},
  };
  for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++) {
    napi_value fn;
    if (napi_create_function(env, functions[i].name, NAPI_AUTO_LENGTH, functions[i].fn, NULL, &fn) != napi_ok ||
        napi_set_named_property(env, exports, functions[i].name, fn) != napi_ok) {
      napi_throw_error(env, "ERR_INTERNAL", "mentionflow native addon: cannot export its functions");
      return NULL;
    }
  }
  return exports;
}
