# Fuzzing the pattern compiler and the event flattener (bus/).
# -DSY_FUZZ=ON (clang): a real libFuzzer binary, fuzz_pattern.
# Otherwise: a replay binary (seeds from the conformance corpus + a few
# thousand deterministic mutations) that runs in the normal suite, label fuzz.
if(SY_FUZZ)
  # instrument the code under test for coverage, not only the harness
  target_compile_options(sy_bus PRIVATE -fsanitize=fuzzer-no-link,address,undefined)
  add_executable(fuzz_pattern ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_pattern.c)
  target_compile_definitions(fuzz_pattern PRIVATE SY_LIBFUZZER)
  target_compile_options(fuzz_pattern PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(fuzz_pattern PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_pattern PRIVATE ${SY_ALL_LIBS} PkgConfig::ZMQ PkgConfig::JANSSON
    PkgConfig::PQ PkgConfig::MHD PkgConfig::CURL PkgConfig::CRYPTO PkgConfig::PROTOBUFC Threads::Threads m dl)
else()
  add_executable(fuzz_pattern_replay ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_pattern.c)
  target_link_libraries(fuzz_pattern_replay PRIVATE ${SY_ALL_LIBS} PkgConfig::ZMQ PkgConfig::JANSSON
    PkgConfig::PQ PkgConfig::MHD PkgConfig::CURL PkgConfig::CRYPTO PkgConfig::PROTOBUFC Threads::Threads m dl)
  add_test(NAME fuzz_pattern_replay COMMAND fuzz_pattern_replay
    ${CMAKE_SOURCE_DIR}/../shared/conformance/event-patterns 4000)
  set_tests_properties(fuzz_pattern_replay PROPERTIES LABELS fuzz TIMEOUT 300
    ENVIRONMENT "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
endif()
