/*
 * deflateRaw: raw DEFLATE (RFC 1951) of a whole buffer with libdeflate, for the
 * deflate codec of Avro object containers (schemas/deflate.ts calls it; node:zlib
 * stays the fallback and the reader):
 *
 *   deflateRaw(input: Uint8Array, level: 1..12) -> Buffer
 *
 * libdeflate compresses a whole buffer in one call, about half of zlib level 1's
 * CPU on the archive's blocks of Post records (BENCHMARKS.md, archive round 9).
 * Memory: one compressor per level and one output scratch buffer per Node
 * environment (main thread or worker thread: N-API instance data, freed with the
 * environment); the result is copied out of the scratch into a new Buffer of the
 * exact size, so nothing the caller holds points into memory we free or reuse.
 * The input is read during the call only (synchronous).
 */
#include <libdeflate.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>

#include "native.h"

#define MAX_LEVEL 12

typedef struct {
  struct libdeflate_compressor *compressors[MAX_LEVEL + 1];
  unsigned char *scratch;
  size_t scratch_size;
} state_t;

static void free_state(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  state_t *s = (state_t *)data;
  for (int i = 0; i <= MAX_LEVEL; i++) {
    if (s->compressors[i] != NULL) libdeflate_free_compressor(s->compressors[i]);
  }
  free(s->scratch);
  free(s);
}

/* Throws (as a pending JS exception) and returns NULL. */
static napi_value fail(napi_env env, const char *code, const char *msg, int type_error) {
  if (type_error) napi_throw_type_error(env, code, msg);
  else napi_throw_error(env, code, msg);
  return NULL;
}

napi_value mf_deflate_raw(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return fail(env, "ERR_INTERNAL", "deflateRaw: cannot read arguments", 0);
  if (argc < 2) return fail(env, "ERR_INVALID_ARG_TYPE", "deflateRaw(input: Uint8Array, level: 1..12)", 1);

  bool is_typed = false;
  if (napi_is_typedarray(env, argv[0], &is_typed) != napi_ok || !is_typed) return fail(env, "ERR_INVALID_ARG_TYPE", "deflateRaw: input must be a Uint8Array or Buffer", 1);
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  if (napi_get_typedarray_info(env, argv[0], &type, &length, &data, NULL, NULL) != napi_ok) return fail(env, "ERR_INTERNAL", "deflateRaw: cannot read the input", 0);
  if (type != napi_uint8_array) return fail(env, "ERR_INVALID_ARG_TYPE", "deflateRaw: input must be a Uint8Array or Buffer", 1);

  double level_arg = 0;
  if (napi_get_value_double(env, argv[1], &level_arg) != napi_ok || !(level_arg >= 1 && level_arg <= MAX_LEVEL) || level_arg != (double)(int)level_arg) {
    return fail(env, "ERR_OUT_OF_RANGE", "deflateRaw: level must be an integer from 1 to 12", 1);
  }
  int level = (int)level_arg;

  state_t *s = NULL;
  if (napi_get_instance_data(env, (void **)&s) != napi_ok || s == NULL) return fail(env, "ERR_INTERNAL", "deflateRaw: module state missing", 0);
  if (s->compressors[level] == NULL) {
    s->compressors[level] = libdeflate_alloc_compressor(level);
    if (s->compressors[level] == NULL) return fail(env, "ERR_MEMORY", "deflateRaw: cannot allocate a libdeflate compressor", 0);
  }
  struct libdeflate_compressor *c = s->compressors[level];

  /* An empty (or detached) input still compresses to a valid empty stream. */
  static const unsigned char empty = 0;
  const void *in = (length == 0 || data == NULL) ? (const void *)&empty : data;
  if (data == NULL) length = 0;

  size_t bound = libdeflate_deflate_compress_bound(c, length);
  if (bound > s->scratch_size) {
    unsigned char *grown = (unsigned char *)realloc(s->scratch, bound);
    if (grown == NULL) return fail(env, "ERR_MEMORY", "deflateRaw: cannot allocate the output buffer", 0);
    s->scratch = grown;
    s->scratch_size = bound;
  }
  size_t n = libdeflate_deflate_compress(c, in, length, s->scratch, s->scratch_size);
  if (n == 0) return fail(env, "ERR_INTERNAL", "deflateRaw: the output did not fit its bound", 0);

  napi_value result;
  if (napi_create_buffer_copy(env, n, s->scratch, NULL, &result) != napi_ok) return fail(env, "ERR_MEMORY", "deflateRaw: cannot allocate the result", 0);
  return result;
}

napi_status mf_deflate_init(napi_env env) {
  state_t *s = (state_t *)calloc(1, sizeof(state_t));
  if (s == NULL) return napi_generic_failure;
  napi_status st = napi_set_instance_data(env, s, free_state, NULL);
  if (st != napi_ok) free(s);
  return st;
}
