{
  "targets": [
    {
      "target_name": "mentionflow_deflate",
      "sources": ["deflate.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Werror"],
      "defines": ["NAPI_VERSION=8"],
      "libraries": ["-l:libdeflate.a"]
    }
  ]
}
