# tests/fuzz/pattern.cmake - fuzz target for pattern/: the pattern compiler and
# the event flattener/matcher (tests/fuzz/fuzz_pattern.c).
# Normal builds: fuzz_pattern_replay (its own main: every pattern and event of
# the conformance corpus as seeds, then deterministic mutations), run by
# ctest with label `fuzz`. -DSY_FUZZ=ON (clang): the libFuzzer binary
# fuzz_pattern, with the module libraries instrumented as in core.cmake.
set(SY_FUZZ_PATTERN_LINK ${SY_ALL_LIBS} PkgConfig::ZMQ PkgConfig::JANSSON PkgConfig::PQ
  PkgConfig::MHD PkgConfig::CURL PkgConfig::CRYPTO PkgConfig::PROTOBUFC Threads::Threads m dl)
if(SY_FUZZ)
  if(NOT SY_FUZZ_LIBS_INSTRUMENTED)
    set(SY_FUZZ_LIBS_INSTRUMENTED ON)
    foreach(lib ${SY_LIBS} sy_proto)
      target_compile_options(${lib} PRIVATE -fsanitize=fuzzer-no-link,address,undefined)
      target_link_options(${lib} INTERFACE -fsanitize=address,undefined)
    endforeach()
  endif()
  add_executable(fuzz_pattern ${CMAKE_CURRENT_LIST_DIR}/fuzz_pattern.c)
  target_compile_definitions(fuzz_pattern PRIVATE SY_LIBFUZZER)
  target_compile_options(fuzz_pattern PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(fuzz_pattern PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_pattern PRIVATE ${SY_FUZZ_PATTERN_LINK})
else()
  add_executable(fuzz_pattern_replay ${CMAKE_CURRENT_LIST_DIR}/fuzz_pattern.c)
  target_link_libraries(fuzz_pattern_replay PRIVATE ${SY_FUZZ_PATTERN_LINK})
  add_test(NAME fuzz_pattern_replay COMMAND fuzz_pattern_replay
    ${CMAKE_SOURCE_DIR}/../shared/conformance/event-patterns 4000)
  set_tests_properties(fuzz_pattern_replay PROPERTIES LABELS fuzz TIMEOUT 300
    ENVIRONMENT "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
endif()
