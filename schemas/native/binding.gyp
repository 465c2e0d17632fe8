{
  "targets": [
    {
      "target_name": "mentionflow_native",
      "sources": ["addon.c", "crf.c", "deflate.c", "lstm.c", "postscan.c"],
      "cflags": ["-O2", "-ffp-contract=off", "-Wall", "-Wextra", "-Werror"],
      "defines": ["NAPI_VERSION=8", "<!@(test -f /usr/include/isa-l/igzip_lib.h && echo MF_HAVE_ISAL || true)"],
      "libraries": ["-l:libdeflate.a", "-ldl", "-lpthread"]
    }
  ]
}
