{
  "targets": [
    {
      "target_name": "mentionflow_native",
      "sources": ["addon.c", "deflate.c", "postscan.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Werror"],
      "defines": ["NAPI_VERSION=8"],
      "libraries": ["-l:libdeflate.a"]
    }
  ]
}
