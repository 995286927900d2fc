# tests/fuzz/topic.cmake - fuzz target for topic/: the SNS DeliveryPolicy
# parser (tests/fuzz/fuzz_delivery_policy.c). Normal builds:
# fuzz_delivery_policy_replay over its seed corpus plus deterministic
# mutations (ctest label `fuzz`); -DSY_FUZZ=ON (clang): the libFuzzer
# binary fuzz_delivery_policy, the module libraries instrumented as in core.cmake.
set(SY_FUZZ_TOPIC_LINK ${SY_ALL_LIBS} PkgConfig::ZMQ PkgConfig::JANSSON PkgConfig::PQ
  PkgConfig::MHD PkgConfig::CURL PkgConfig::CRYPTO PkgConfig::PROTOBUFC Threads::Threads m dl)
if(SY_FUZZ)
  if(NOT SY_FUZZ_LIBS_INSTRUMENTED)
    set(SY_FUZZ_LIBS_INSTRUMENTED ON)
    foreach(lib ${SY_LIBS} sy_proto)
      target_compile_options(${lib} PRIVATE -fsanitize=fuzzer-no-link,address,undefined)
      target_link_options(${lib} INTERFACE -fsanitize=address,undefined)
    endforeach()
  endif()
  add_executable(fuzz_delivery_policy ${CMAKE_CURRENT_LIST_DIR}/fuzz_delivery_policy.c)
  target_compile_options(fuzz_delivery_policy PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(fuzz_delivery_policy PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_delivery_policy PRIVATE ${SY_FUZZ_TOPIC_LINK})
else()
  add_executable(fuzz_delivery_policy_replay ${CMAKE_CURRENT_LIST_DIR}/fuzz_delivery_policy.c
    ${CMAKE_CURRENT_LIST_DIR}/replay.c)
  target_link_libraries(fuzz_delivery_policy_replay PRIVATE ${SY_FUZZ_TOPIC_LINK})
  add_test(NAME fuzz_delivery_policy COMMAND fuzz_delivery_policy_replay
    ${CMAKE_CURRENT_LIST_DIR}/corpus/fuzz_delivery_policy 4000)
  set_tests_properties(fuzz_delivery_policy PROPERTIES LABELS fuzz TIMEOUT 120
    ENVIRONMENT "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
endif()
