/*
 * checkPosts: schemas/postScan.ts's scan of the latest Post layout (Post v2), in C, over many
 * records in one call: the archive sink's check of a fetched batch (the records' values are views
 * into one ArrayBuffer, kafkajs's fetch response). Gives, record by record, the verdict of the
 * TypeScript scan (test/schemas/postScan.test.ts compares the two, and both with the generic
 * scan, on random and damaged records):
 *
 *   checkPosts(data: ArrayBuffer, starts: Uint32Array, ends: Uint32Array,
 *              status: Uint8Array, createdAt: Float64Array) -> undefined
 *
 * status[i]: 0 a whole Post v2 with a non-blank id (createdAt[i] its created_at), 1 not one (the
 * full decode path decides), 2 a blank id (ASCII whitespace only), 3 a whole Post v2 whose id is
 * only ASCII whitespace and bytes >= 0x80 (String.prototype.trim decides, in TypeScript), 255
 * unsure (a varint over 7 bytes: the generic scan decides). A record whose range is not inside
 * `data` is 1. Every read is bounded by the record's end; nothing is written but status and
 * createdAt, within the length checked for all five arrays.
 *
 * UTF-8 validation of strings of 16 bytes or more goes to simdutf's validate_utf8, the SIMD
 * validator inside Node itself (node:buffer's isUtf8 runs it), which the node executable exports
 * and this file finds at run time (dlsym): about 0.04 us less CPU a real-text record (a Weibo
 * text is ~100 bytes of 3-byte characters). Where a Node lacks the symbol, and for short strings,
 * utf8_ok below does the same check, byte by byte. For tests:
 *
 *   checkPost(value: Uint8Array, createdAt: Float64Array) -> status   one record, the whole of `value`
 *   utf8Check(input: Uint8Array, scalar: boolean) -> boolean   the check checkPosts runs, or utf8_ok alone
 *   utf8Engine() -> "simdutf" | "scalar"                       which one checkPosts uses for long strings
 */
#include <dlfcn.h>
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "native.h"

enum { OK = 0, SLOW = 1, BLANK = 2, TRIM = 3, UNSURE = 255 };

typedef struct {
  const uint8_t *b;
  size_t p;
  size_t lim;
  int long_varint;
} cursor_t;

/* A zig-zag varint of at most max_bytes bytes; 0 and *ok = 0 when it runs past lim or has more bytes (then long_varint is set when mark_long). */
static int64_t zigzag(cursor_t *c, int max_bytes, int mark_long, int *ok) {
  uint64_t n = 0;
  for (int i = 0; i < max_bytes; i++) {
    if (c->p >= c->lim) {
      *ok = 0;
      return 0;
    }
    uint8_t byte = c->b[c->p++];
    n |= (uint64_t)(byte & 0x7f) << (7 * i);
    if (byte < 0x80) {
      *ok = 1;
      return (n & 1) ? -(int64_t)((n + 1) / 2) : (int64_t)(n / 2);
    }
  }
  if (mark_long) c->long_varint = 1;
  *ok = 0;
  return 0;
}

/* Well-formed UTF-8 as node:buffer's isUtf8 has it: no overlong forms, no surrogates, nothing above U+10FFFF. */
static int utf8_ok(const uint8_t *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t b = s[i];
    if (b < 0x80) {
      i++;
    } else if (b < 0xc2) {
      return 0;
    } else if (b < 0xe0) {
      if (i + 1 >= n || (s[i + 1] & 0xc0) != 0x80) return 0;
      i += 2;
    } else if (b < 0xf0) {
      if (i + 2 >= n) return 0;
      uint8_t b1 = s[i + 1];
      if ((b1 & 0xc0) != 0x80 || (s[i + 2] & 0xc0) != 0x80) return 0;
      if ((b == 0xe0 && b1 < 0xa0) || (b == 0xed && b1 >= 0xa0)) return 0;
      i += 3;
    } else if (b < 0xf5) {
      if (i + 3 >= n) return 0;
      uint8_t b1 = s[i + 1];
      if ((b1 & 0xc0) != 0x80 || (s[i + 2] & 0xc0) != 0x80 || (s[i + 3] & 0xc0) != 0x80) return 0;
      if ((b == 0xf0 && b1 < 0x90) || (b == 0xf4 && b1 >= 0x90)) return 0;
      i += 4;
    } else {
      return 0;
    }
  }
  return 1;
}

/* simdutf::validate_utf8(const char *, size_t) noexcept -> bool, as exported by the node executable (C++ name). */
typedef bool (*simdutf_validate_fn)(const char *, size_t);
static simdutf_validate_fn simdutf_validate;
static pthread_once_t simdutf_once = PTHREAD_ONCE_INIT;
static void simdutf_find(void) { simdutf_validate = (simdutf_validate_fn)dlsym(RTLD_DEFAULT, "_ZN7simdutf13validate_utf8EPKcm"); }

/* utf8_ok's verdict; by simdutf for 16 bytes or more where Node exports it (a call costs more than a short scan). */
static int utf8_valid(const uint8_t *s, size_t n) {
  if (n >= 16) {
    pthread_once(&simdutf_once, simdutf_find);
    if (simdutf_validate != NULL) return simdutf_validate((const char *)s, n) ? 1 : 0;
  }
  return utf8_ok(s, n);
}

/* A length-prefixed UTF-8 string: 1 when whole and valid (the cursor then past it); its start and length out. */
static int string_at(cursor_t *c, size_t *start, size_t *len) {
  int ok;
  int64_t n = zigzag(c, 7, 1, &ok);
  if (!ok || n < 0 || (uint64_t)n > c->lim - c->p) return 0;
  *start = c->p;
  *len = (size_t)n;
  c->p += (size_t)n;
  return utf8_valid(c->b + *start, *len);
}

static int string(cursor_t *c) {
  size_t s, n;
  return string_at(c, &s, &n);
}

/* A ["null", "string"] union. */
static int optional_string(cursor_t *c) {
  int ok;
  int64_t br = zigzag(c, 5, 0, &ok);
  if (!ok) return 0;
  return br == 0 || (br == 1 && string(c));
}

/* A map of strings (map != 0) or an array of strings, in blocks (a negative count gives the block's byte size). */
static int blocks(cursor_t *c, int map) {
  const int64_t item_min = map ? 2 : 1;
  for (;;) {
    int ok;
    int64_t count = zigzag(c, 7, 1, &ok);
    if (!ok) return 0;
    if (count == 0) return 1;
    size_t block_end = SIZE_MAX;
    if (count < 0) {
      count = -count;
      int64_t size = zigzag(c, 7, 1, &ok);
      if (!ok || size < 0 || (uint64_t)size > c->lim - c->p) return 0;
      block_end = c->p + (size_t)size;
    }
    /* count < 2^48 here, so the product cannot overflow */
    if ((uint64_t)(count * item_min) > c->lim - c->p) return 0;
    for (int64_t i = 0; i < count; i++) {
      if (map) {
        size_t ks, kn;
        if (!string_at(c, &ks, &kn)) return 0;
        if (kn == 9 && memcmp(c->b + ks, "__proto__", 9) == 0) return 0;
      }
      if (!string(c)) return 0;
    }
    if (block_end != SIZE_MAX && c->p != block_end) return 0;
  }
}

/* The Post v2 fields; SLOW at the first field that is not whole. */
static int fields(cursor_t *c, int64_t *created_at) {
  size_t id_start, id_len;
  if (!string_at(c, &id_start, &id_len)) return SLOW;
  if (!string(c) || !string(c)) return SLOW; /* text, author_id */
  int ok;
  int64_t t = zigzag(c, 7, 1, &ok);
  if (!ok) return SLOW;
  if (!string(c) || !optional_string(c) || !optional_string(c) || !blocks(c, 1) || !blocks(c, 0)) return SLOW;
  int64_t g = zigzag(c, 5, 0, &ok);
  if (!ok) return SLOW;
  if (g == 1) {
    if (c->lim - c->p < 16) return SLOW;
    c->p += 16;
    if (!optional_string(c)) return SLOW;
  } else if (g != 0) {
    return SLOW;
  }
  if (c->p != c->lim) return SLOW;
  *created_at = t;
  /* blank id: ASCII whitespace only; with bytes >= 0x80 and no other ASCII, trim decides */
  int ascii = 1;
  for (size_t i = id_start; i < id_start + id_len; i++) {
    uint8_t b = c->b[i];
    if (b >= 0x80) ascii = 0;
    else if (b != 0x20 && (b < 0x09 || b > 0x0d)) return OK;
  }
  return ascii ? BLANK : TRIM;
}

static int scan_post(const uint8_t *data, size_t start, size_t end, int64_t *created_at) {
  cursor_t c = {data, start, end, 0};
  int s = fields(&c, created_at);
  return c.long_varint ? UNSURE : s;
}

napi_value mf_check_posts(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "checkPosts(data: ArrayBuffer, starts: Uint32Array, ends: Uint32Array, status: Uint8Array, createdAt: Float64Array)");
    return NULL;
  }
  bool is_ab = false;
  void *data = NULL;
  size_t data_len = 0;
  if (napi_is_arraybuffer(env, argv[0], &is_ab) != napi_ok || !is_ab || napi_get_arraybuffer_info(env, argv[0], &data, &data_len) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "checkPosts: data must be an ArrayBuffer");
    return NULL;
  }
  void *starts_p, *ends_p, *status_p, *created_p;
  size_t n_starts, n_ends, n_status, n_created;
  if (!mf_typed_arg(env, argv[1], napi_uint32_array, &starts_p, &n_starts) || !mf_typed_arg(env, argv[2], napi_uint32_array, &ends_p, &n_ends) ||
      !mf_typed_arg(env, argv[3], napi_uint8_array, &status_p, &n_status) || !mf_typed_arg(env, argv[4], napi_float64_array, &created_p, &n_created)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "checkPosts: starts and ends must be Uint32Arrays, status a Uint8Array, createdAt a Float64Array");
    return NULL;
  }
  if (n_ends != n_starts || n_status < n_starts || n_created < n_starts) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "checkPosts: ends, status and createdAt must hold as many entries as starts");
    return NULL;
  }
  const uint32_t *starts = (const uint32_t *)starts_p;
  const uint32_t *ends = (const uint32_t *)ends_p;
  uint8_t *status = (uint8_t *)status_p;
  double *created = (double *)created_p;
  const uint8_t *bytes = (const uint8_t *)data;
  for (size_t i = 0; i < n_starts; i++) {
    size_t s = starts[i], e = ends[i];
    if (bytes == NULL || s > e || e > data_len) {
      status[i] = SLOW;
      continue;
    }
    int64_t t = 0;
    int v = s == e ? SLOW : scan_post(bytes, s, e, &t);
    status[i] = (uint8_t)v;
    created[i] = (v == OK || v == TRIM) ? (double)t : 0;
  }
  return NULL;
}

/*
 * checkPost(value: Uint8Array, createdAt: Float64Array) -> status: the same verdict on one record,
 * the whole of `value` (the worker's decodePosts, one record at a time), with two N-API reads of
 * its arguments instead of checkPosts' six; for 0 and 3, created_at goes to createdAt[0].
 */
napi_value mf_check_post(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  void *data = NULL, *created_p = NULL;
  size_t length = 0, n_created = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || !mf_typed_arg(env, argv[0], napi_uint8_array, &data, &length) ||
      !mf_typed_arg(env, argv[1], napi_float64_array, &created_p, &n_created) || n_created < 1) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "checkPost(value: Uint8Array, createdAt: Float64Array of at least 1 entry)");
    return NULL;
  }
  int64_t t = 0;
  int v = data == NULL || length == 0 ? SLOW : scan_post((const uint8_t *)data, 0, length, &t);
  ((double *)created_p)[0] = (v == OK || v == TRIM) ? (double)t : 0;
  napi_value result;
  if (napi_create_uint32(env, (uint32_t)v, &result) != napi_ok) return NULL;
  return result;
}

napi_value mf_utf8_check(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  void *data = NULL;
  size_t length = 0;
  bool scalar = false;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || !mf_typed_arg(env, argv[0], napi_uint8_array, &data, &length) ||
      napi_get_value_bool(env, argv[1], &scalar) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "utf8Check(input: Uint8Array, scalar: boolean)");
    return NULL;
  }
  static const uint8_t empty = 0;
  const uint8_t *s = data == NULL ? &empty : (const uint8_t *)data;
  if (data == NULL) length = 0;
  napi_value result;
  if (napi_get_boolean(env, scalar ? utf8_ok(s, length) : utf8_valid(s, length), &result) != napi_ok) return NULL;
  return result;
}

napi_value mf_utf8_engine(napi_env env, napi_callback_info info) {
  (void)info;
  pthread_once(&simdutf_once, simdutf_find);
  napi_value result;
  if (napi_create_string_utf8(env, simdutf_validate != NULL ? "simdutf" : "scalar", NAPI_AUTO_LENGTH, &result) != napi_ok) return NULL;
  return result;
}
