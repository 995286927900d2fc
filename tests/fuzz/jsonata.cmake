# tests/fuzz/jsonata.cmake - the JSONata parser+evaluator fuzz target (issue 13).
# Replay smoke run in ctest (label fuzz) seeded from the expressions of
# ../shared/conformance/jsonata, which jsonata_conformance --dump-seeds writes
# into the build tree first (fixture); libFuzzer binary with -DSY_FUZZ=ON.
set(SY_JSONATA_FUZZ_LINK ${SY_ALL_LIBS} PkgConfig::ZMQ PkgConfig::JANSSON PkgConfig::PQ PkgConfig::MHD
  PkgConfig::CURL PkgConfig::CRYPTO PkgConfig::PROTOBUFC Threads::Threads m dl)
if(SY_FUZZ)
  add_executable(fuzz_jsonata ${CMAKE_CURRENT_LIST_DIR}/fuzz_jsonata.c)
  target_compile_options(fuzz_jsonata PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(fuzz_jsonata PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_jsonata PRIVATE ${SY_JSONATA_FUZZ_LINK})
  target_include_directories(fuzz_jsonata PRIVATE ${CMAKE_SOURCE_DIR})
else()
  add_executable(fuzz_jsonata_replay ${CMAKE_CURRENT_LIST_DIR}/fuzz_jsonata.c ${CMAKE_CURRENT_LIST_DIR}/replay.c)
  target_link_libraries(fuzz_jsonata_replay PRIVATE ${SY_JSONATA_FUZZ_LINK})
  target_include_directories(fuzz_jsonata_replay PRIVATE ${CMAKE_SOURCE_DIR})
  set(SY_JSONATA_SEEDS ${CMAKE_BINARY_DIR}/tests/fuzz_jsonata_seeds)
  add_test(NAME fuzz_jsonata_seeds COMMAND jsonata_conformance --dump-seeds
    ${CMAKE_SOURCE_DIR}/../shared/conformance/jsonata ${SY_JSONATA_SEEDS})
  set_tests_properties(fuzz_jsonata_seeds PROPERTIES LABELS fuzz FIXTURES_SETUP JSONATA_SEEDS TIMEOUT 60)
  add_test(NAME fuzz_jsonata COMMAND fuzz_jsonata_replay ${SY_JSONATA_SEEDS} 2000)
  set_tests_properties(fuzz_jsonata PROPERTIES LABELS fuzz TIMEOUT 600 FIXTURES_REQUIRED JSONATA_SEEDS
    ENVIRONMENT "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
endif()
# regression inputs found by libFuzzer (issue 14), replayed with mutations
if(NOT SY_FUZZ)
  add_test(NAME fuzz_jsonata_regress COMMAND fuzz_jsonata_replay ${CMAKE_CURRENT_LIST_DIR}/corpus/fuzz_jsonata 500)
  set_tests_properties(fuzz_jsonata_regress PROPERTIES LABELS fuzz TIMEOUT 300
    ENVIRONMENT "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
endif()
# expressions that grow an array or a string on every recursive call, or a
# result shared many times over: each must stop at the evaluation's budget
# (asl/jsonata/value.c) with U1001 instead of taking gigabytes; replayed
# without mutations (each costs seconds under ASan)
if(NOT SY_FUZZ)
  add_test(NAME fuzz_jsonata_budget COMMAND fuzz_jsonata_replay ${CMAKE_CURRENT_LIST_DIR}/corpus/fuzz_jsonata_budget 0)
  set_tests_properties(fuzz_jsonata_budget PROPERTIES LABELS fuzz TIMEOUT 300
    ENVIRONMENT "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
endif()
