/*
 * mentionflow's native addon (schemas/nativeAddon.ts loads it; deploy/native/build-native-addon.sh
 * builds it): raw DEFLATE with libdeflate or ISA-L for the container's deflate codec (deflate.c), and the
 * archive sink's Post check over a fetched batch (postscan.c). Everything it does has a TypeScript
 * path too, used where the addon is not built.
 */
#include <node_api.h>

#include "native.h"

NAPI_MODULE_INIT() {
  if (mf_deflate_init(env) != napi_ok) {
    napi_throw_error(env, "ERR_INTERNAL", "mentionflow native addon: cannot set up its state");
    return NULL;
  }
  napi_value fn;
  if (napi_create_function(env, "deflateRaw", NAPI_AUTO_LENGTH, mf_deflate_raw, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "deflateRaw", fn) != napi_ok ||
      napi_create_function(env, "isalDeflateRaw", NAPI_AUTO_LENGTH, mf_isal_deflate_raw, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "isalDeflateRaw", fn) != napi_ok ||
      napi_create_function(env, "isalStatus", NAPI_AUTO_LENGTH, mf_isal_status, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "isalStatus", fn) != napi_ok ||
      napi_create_function(env, "checkPosts", NAPI_AUTO_LENGTH, mf_check_posts, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "checkPosts", fn) != napi_ok ||
      napi_create_function(env, "checkPost", NAPI_AUTO_LENGTH, mf_check_post, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "checkPost", fn) != napi_ok ||
      napi_create_function(env, "utf8Check", NAPI_AUTO_LENGTH, mf_utf8_check, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "utf8Check", fn) != napi_ok ||
      napi_create_function(env, "utf8Engine", NAPI_AUTO_LENGTH, mf_utf8_engine, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "utf8Engine", fn) != napi_ok) {
    napi_throw_error(env, "ERR_INTERNAL", "mentionflow native addon: cannot export its functions");
    return NULL;
  }
  return exports;
}
