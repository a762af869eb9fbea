{
  "targets": [
    {
      "target_name": "keel",
      "sources": [
        "native/module.cc",
        "native/args.cc",
        "native/segments.cc",
        "native/futex.cc",
        "native/waiter.cc",
        "native/uring-waiter.cc",
        "native/robust-mutex.cc",
        "native/scheduling.cc"
      ],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Werror", "-fno-exceptions"],
      "cflags_cc!": ["-fno-rtti"],
      "conditions": [
        ["OS=='linux'", { "libraries": ["-lpthread"] }]
      ]
    }
  ]
}
