/*
 * Raw DEFLATE (RFC 1951) of a whole buffer, for the deflate codec of Avro object
 * containers (schemas/deflate.ts calls these; node:zlib stays the fallback and the
 * reader):
 *
 *   deflateRaw(input: Uint8Array, level: 1..12) -> Buffer      libdeflate
 *   isalDeflateRaw(input: Uint8Array, level: 0..3) -> Buffer   ISA-L's igzip
 *   isalStatus() -> string | null                               null when ISA-L loaded, else why not
 *
 * libdeflate compresses a whole buffer in one call, about half of zlib level 1's
 * CPU on the archive's blocks of Post records; ISA-L's igzip (Intel's storage
 * acceleration library, SIMD match finding) about half of libdeflate's again
 * (BENCHMARKS.md, archive round 10). libdeflate is linked statically. ISA-L is
 * opened at run time (dlopen of libisal.so.2, Debian's libisal2) so that the
 * addon loads, and libdeflate serves, on a host without it; it is compiled in
 * only where its header was found at build time (MF_HAVE_ISAL).
 *
 * Memory: one compressor per level (libdeflate), one level buffer per level
 * (ISA-L) and one output scratch buffer per Node environment (main thread or
 * worker thread: N-API instance data, freed with the environment); the result is
 * copied out of the scratch into a new Buffer of the exact size, so nothing the
 * caller holds points into memory we free or reuse. The input is read during the
 * call only (synchronous).
 */
#include <libdeflate.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef MF_HAVE_ISAL
#include <dlfcn.h>
#include <isa-l/igzip_lib.h>
#include <pthread.h>
#endif

#include "native.h"

#define MAX_LEVEL 12
#define ISAL_MAX_LEVEL 3

typedef struct {
  struct libdeflate_compressor *compressors[MAX_LEVEL + 1];
  unsigned char *isal_level_bufs[ISAL_MAX_LEVEL + 1];
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
  for (int i = 0; i <= ISAL_MAX_LEVEL; i++) free(s->isal_level_bufs[i]);
  free(s->scratch);
  free(s);
}

/* Grows the environment's output scratch to at least `size` bytes; false when out of memory. */
static bool grow_scratch(state_t *s, size_t size) {
  if (size <= s->scratch_size) return true;
  unsigned char *grown = (unsigned char *)realloc(s->scratch, size);
  if (grown == NULL) return false;
  s->scratch = grown;
  s->scratch_size = size;
  return true;
}

/* Throws (as a pending JS exception) and returns NULL. */
static napi_value fail(napi_env env, const char *code, const char *msg, int type_error) {
  if (type_error) napi_throw_type_error(env, code, msg);
  else napi_throw_error(env, code, msg);
  return NULL;
}

/* The arguments of both engines' calls: (input: Uint8Array, level: an integer of min..max). */
typedef struct {
  const void *data; /* never NULL: an empty or detached input points at a static byte, length 0 */
  size_t length;
  int level;
  state_t *state;
} call_t;

/* Reads `fn`'s arguments and the environment's state into `c`; false with a pending exception. */
static bool read_call(napi_env env, napi_callback_info info, const char *fn, int min_level, int max_level, call_t *c) {
  static const unsigned char empty = 0;
  char msg[128];
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    snprintf(msg, sizeof msg, "%s: cannot read arguments", fn);
    fail(env, "ERR_INTERNAL", msg, 0);
    return false;
  }
  if (argc < 2) {
    snprintf(msg, sizeof msg, "%s(input: Uint8Array, level: %d..%d)", fn, min_level, max_level);
    fail(env, "ERR_INVALID_ARG_TYPE", msg, 1);
    return false;
  }
  bool is_typed = false;
  napi_typedarray_type type = napi_int8_array;
  void *data = NULL;
  size_t length = 0;
  if (napi_is_typedarray(env, argv[0], &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, argv[0], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_uint8_array) {
    snprintf(msg, sizeof msg, "%s: input must be a Uint8Array or Buffer", fn);
    fail(env, "ERR_INVALID_ARG_TYPE", msg, 1);
    return false;
  }
  double level = -1;
  if (napi_get_value_double(env, argv[1], &level) != napi_ok || !(level >= min_level && level <= max_level) || level != (double)(int)level) {
    snprintf(msg, sizeof msg, "%s: level must be an integer from %d to %d", fn, min_level, max_level);
    fail(env, "ERR_OUT_OF_RANGE", msg, 1);
    return false;
  }
  if (napi_get_instance_data(env, (void **)&c->state) != napi_ok || c->state == NULL) {
    snprintf(msg, sizeof msg, "%s: module state missing", fn);
    fail(env, "ERR_INTERNAL", msg, 0);
    return false;
  }
  c->data = (length == 0 || data == NULL) ? (const void *)&empty : data;
  c->length = data == NULL ? 0 : length;
  c->level = (int)level;
  return true;
}

napi_value mf_deflate_raw(napi_env env, napi_callback_info info) {
  call_t a;
  if (!read_call(env, info, "deflateRaw", 1, MAX_LEVEL, &a)) return NULL;
  state_t *s = a.state;
  if (s->compressors[a.level] == NULL) {
    s->compressors[a.level] = libdeflate_alloc_compressor(a.level);
    if (s->compressors[a.level] == NULL) return fail(env, "ERR_MEMORY", "deflateRaw: cannot allocate a libdeflate compressor", 0);
  }
  struct libdeflate_compressor *c = s->compressors[a.level];

  size_t bound = libdeflate_deflate_compress_bound(c, a.length);
  if (!grow_scratch(s, bound)) return fail(env, "ERR_MEMORY", "deflateRaw: cannot allocate the output buffer", 0);
  size_t n = libdeflate_deflate_compress(c, a.data, a.length, s->scratch, s->scratch_size);
  if (n == 0) return fail(env, "ERR_INTERNAL", "deflateRaw: the output did not fit its bound", 0);

  napi_value result;
  if (napi_create_buffer_copy(env, n, s->scratch, NULL, &result) != napi_ok) return fail(env, "ERR_MEMORY", "deflateRaw: cannot allocate the result", 0);
  return result;
}

/* ---- ISA-L (igzip), opened at run time ---- */

#ifdef MF_HAVE_ISAL
typedef void (*isal_init_fn)(struct isal_zstream *);
typedef int (*isal_deflate_fn)(struct isal_zstream *);
static isal_init_fn p_isal_init;
static isal_deflate_fn p_isal_deflate;
static char isal_error[256];
static pthread_once_t isal_once = PTHREAD_ONCE_INIT;

/* Once per process: dlopen libisal.so.2 and find the two stateless entry points (or say why not). */
static void isal_open(void) {
  void *lib = dlopen("libisal.so.2", RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL) {
    const char *e = dlerror();
    snprintf(isal_error, sizeof isal_error, "%s (Debian: apt-get install libisal2)", e != NULL ? e : "libisal.so.2 not found");
    return;
  }
  p_isal_init = (isal_init_fn)dlsym(lib, "isal_deflate_stateless_init");
  p_isal_deflate = (isal_deflate_fn)dlsym(lib, "isal_deflate_stateless");
  if (p_isal_init == NULL || p_isal_deflate == NULL) {
    p_isal_init = NULL;
    p_isal_deflate = NULL;
    snprintf(isal_error, sizeof isal_error, "libisal.so.2 lacks isal_deflate_stateless");
  }
}

static const char *isal_reason(void) {
  pthread_once(&isal_once, isal_open);
  return p_isal_deflate != NULL ? NULL : isal_error;
}

static const uint32_t ISAL_LEVEL_BUF_SIZE[ISAL_MAX_LEVEL + 1] = {ISAL_DEF_LVL0_DEFAULT, ISAL_DEF_LVL1_DEFAULT, ISAL_DEF_LVL2_DEFAULT, ISAL_DEF_LVL3_DEFAULT};
#else
static const char *isal_reason(void) { return "the addon was built without ISA-L's header (Debian: apt-get install libisal-dev, then rebuild)"; }
#endif

napi_value mf_isal_status(napi_env env, napi_callback_info info) {
  (void)info;
  const char *reason = isal_reason();
  napi_value result;
  if (reason == NULL) {
    if (napi_get_null(env, &result) != napi_ok) return NULL;
  } else if (napi_create_string_utf8(env, reason, NAPI_AUTO_LENGTH, &result) != napi_ok) {
    return NULL;
  }
  return result;
}

napi_value mf_isal_deflate_raw(napi_env env, napi_callback_info info) {
  call_t a;
  if (!read_call(env, info, "isalDeflateRaw", 0, ISAL_MAX_LEVEL, &a)) return NULL;
#ifndef MF_HAVE_ISAL
  return fail(env, "ERR_INVALID_STATE", isal_reason(), 0);
#else
  const char *reason = isal_reason();
  if (reason != NULL) return fail(env, "ERR_INVALID_STATE", reason, 0);
  /* ISA-L counts input and output in uint32_t; container blocks are at most 256 MiB. */
  if (a.length > UINT32_MAX / 2) return fail(env, "ERR_OUT_OF_RANGE", "isalDeflateRaw: input larger than 2 GiB", 1);
  state_t *s = a.state;
  int level = a.level;
  if (s->isal_level_bufs[level] == NULL && ISAL_LEVEL_BUF_SIZE[level] > 0) {
    s->isal_level_bufs[level] = (unsigned char *)malloc(ISAL_LEVEL_BUF_SIZE[level]);
    if (s->isal_level_bufs[level] == NULL) return fail(env, "ERR_MEMORY", "isalDeflateRaw: cannot allocate the level buffer", 0);
  }
  /*
   * Room for the input as stored blocks (5 bytes of header per 65,535) and slack: isal_deflate_stateless
   * writes stored blocks itself when its compressed output would not fit, so this always suffices.
   */
  size_t bound = a.length + (a.length / 65535 + 1) * 5 + ISAL_DEF_MAX_HDR_SIZE + 1024;
  if (!grow_scratch(s, bound)) return fail(env, "ERR_MEMORY", "isalDeflateRaw: cannot allocate the output buffer", 0);

  struct isal_zstream z;
  p_isal_init(&z);
  z.level = (uint32_t)level;
  z.level_buf = s->isal_level_bufs[level];
  z.level_buf_size = ISAL_LEVEL_BUF_SIZE[level];
  z.gzip_flag = IGZIP_DEFLATE;
  z.end_of_stream = 1;
  z.flush = NO_FLUSH;
  z.next_in = (uint8_t *)a.data; /* read only: ISA-L's field is not const */
  z.avail_in = (uint32_t)a.length;
  z.next_out = s->scratch;
  z.avail_out = (uint32_t)(s->scratch_size > UINT32_MAX ? UINT32_MAX : s->scratch_size);
  int rc = p_isal_deflate(&z);
  if (rc != COMP_OK) {
    char msg[96];
    snprintf(msg, sizeof msg, "isalDeflateRaw: isal_deflate_stateless returned %d", rc);
    return fail(env, "ERR_INTERNAL", msg, 0);
  }

  napi_value result;
  if (napi_create_buffer_copy(env, z.total_out, s->scratch, NULL, &result) != napi_ok) return fail(env, "ERR_MEMORY", "isalDeflateRaw: cannot allocate the result", 0);
  return result;
#endif
}

napi_status mf_deflate_init(napi_env env) {
  state_t *s = (state_t *)calloc(1, sizeof(state_t));
  if (s == NULL) return napi_generic_failure;
  napi_status st = napi_set_instance_data(env, s, free_state, NULL);
  if (st != napi_ok) free(s);
  return st;
}
