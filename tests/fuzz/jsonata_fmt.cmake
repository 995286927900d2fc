# tests/fuzz/jsonata_fmt.cmake - the fuzz target of asl/jsonata/fmt_*.c (the
# picture-string functions of JSONata), included by tests/CMakeLists.txt.
# Normal builds: fuzz_jsonata_fmt_replay over the seed corpus plus 4000
# mutations (label fuzz). -DSY_FUZZ=ON with clang: a libFuzzer binary
# (core.cmake instruments the libraries). See docs/fuzzing.md.
if(EXISTS ${CMAKE_SOURCE_DIR}/asl/jsonata/fmt_util.c)
  set(SY_FUZZ_JF_LINK ${SY_ALL_LIBS} PkgConfig::ZMQ PkgConfig::JANSSON PkgConfig::PQ PkgConfig::MHD
    PkgConfig::CURL PkgConfig::CRYPTO PkgConfig::PROTOBUFC Threads::Threads m dl)
  if(SY_FUZZ)
    add_executable(fuzz_jsonata_fmt ${CMAKE_CURRENT_LIST_DIR}/fuzz_jsonata_fmt.c)
    target_compile_options(fuzz_jsonata_fmt PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(fuzz_jsonata_fmt PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(fuzz_jsonata_fmt PRIVATE ${SY_FUZZ_JF_LINK})
  else()
    add_executable(fuzz_jsonata_fmt_replay ${CMAKE_CURRENT_LIST_DIR}/fuzz_jsonata_fmt.c
      ${CMAKE_CURRENT_LIST_DIR}/replay.c)
    target_link_libraries(fuzz_jsonata_fmt_replay PRIVATE ${SY_FUZZ_JF_LINK})
    add_test(NAME fuzz_jsonata_fmt COMMAND fuzz_jsonata_fmt_replay
      ${CMAKE_CURRENT_LIST_DIR}/corpus/fuzz_jsonata_fmt 4000)
    set_tests_properties(fuzz_jsonata_fmt PROPERTIES LABELS fuzz TIMEOUT 120
      ENVIRONMENT "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
  endif()
endif()
