/*
 * mentionflow's native addon (schemas/nativeAddon.ts loads it; deploy/native/build-native-addon.sh
 * builds it): raw DEFLATE with libdeflate or ISA-L for the container's deflate codec (deflate.c), and the
 * archive sink's Post check over a fetched batch (postscan.c), and the tagger's CRF decoders (crf.c) and LSTM (lstm.c, AVX-512 or AVX2). Everything it does has a TypeScript
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
