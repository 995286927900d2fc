# tests/fuzz/lambda.cmake - the parsers of issue 12 a client or a broker's
# DELIVER can reach: function references with qualifiers and ARNs, alias
# names, RoutingConfig and Environment.Variables (lambda/qualifier.c), and
# the function configuration a worker applies (worker/worker_fncfg.c). In
# the manner of proto.cmake: fuzz_lambda_replay (replay.c over
# corpus/fuzz_lambda plus deterministic mutations) in ctest label fuzz; a
# libFuzzer binary fuzz_lambda with -DSY_FUZZ=ON (clang).
set(SY_FUZZ_LAMBDA_LINK ${SY_ALL_LIBS} PkgConfig::ZMQ PkgConfig::JANSSON PkgConfig::PQ PkgConfig::MHD
  PkgConfig::CURL PkgConfig::CRYPTO PkgConfig::PROTOBUFC Threads::Threads m dl)
if(SY_FUZZ)
  add_executable(fuzz_lambda ${CMAKE_CURRENT_LIST_DIR}/fuzz_lambda.c)
  target_compile_options(fuzz_lambda PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(fuzz_lambda PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_lambda PRIVATE ${SY_FUZZ_LAMBDA_LINK})
else()
  add_executable(fuzz_lambda_replay ${CMAKE_CURRENT_LIST_DIR}/fuzz_lambda.c ${CMAKE_CURRENT_LIST_DIR}/replay.c)
  target_link_libraries(fuzz_lambda_replay PRIVATE ${SY_FUZZ_LAMBDA_LINK})
  add_test(NAME fuzz_lambda COMMAND fuzz_lambda_replay ${CMAKE_CURRENT_LIST_DIR}/corpus/fuzz_lambda 200000)
  set_tests_properties(fuzz_lambda PROPERTIES LABELS fuzz TIMEOUT 120
    ENVIRONMENT "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
endif()
