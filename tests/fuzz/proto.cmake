# tests/fuzz/proto.cmake - the SYW01 envelope decoder (worker/wire.c), in the
# manner of core.cmake: fuzz_proto_replay (replay.c over corpus/fuzz_proto plus
# deterministic mutations) in ctest label fuzz; a libFuzzer binary fuzz_proto
# with -DSY_FUZZ=ON (clang; core.cmake instruments the module libraries).
set(SY_FUZZ_PROTO_LINK ${SY_ALL_LIBS} PkgConfig::ZMQ PkgConfig::JANSSON PkgConfig::PQ PkgConfig::MHD
  PkgConfig::CURL PkgConfig::CRYPTO PkgConfig::PROTOBUFC Threads::Threads m dl)
if(SY_FUZZ)
  add_executable(fuzz_proto ${CMAKE_CURRENT_LIST_DIR}/fuzz_proto.c)
  target_compile_options(fuzz_proto PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(fuzz_proto PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_proto PRIVATE ${SY_FUZZ_PROTO_LINK})
else()
  add_executable(fuzz_proto_replay ${CMAKE_CURRENT_LIST_DIR}/fuzz_proto.c
    ${CMAKE_CURRENT_LIST_DIR}/replay.c)
  target_link_libraries(fuzz_proto_replay PRIVATE ${SY_FUZZ_PROTO_LINK})
  add_test(NAME fuzz_proto COMMAND fuzz_proto_replay ${CMAKE_CURRENT_LIST_DIR}/corpus/fuzz_proto 200000)
  set_tests_properties(fuzz_proto PROPERTIES LABELS fuzz TIMEOUT 120
    ENVIRONMENT "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
endif()
