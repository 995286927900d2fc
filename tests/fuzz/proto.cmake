# Envelope decoder fuzzing. -DSY_FUZZ=ON (clang): a libFuzzer binary
# fuzz_proto (run: ./fuzz_proto -max_total_time=60 corpus/, seeds from
# `fuzz_proto_replay --write-seeds corpus/`). Always: a replay executable over
# built-in seeds + deterministic mutations, in ctest label fuzz.
set(SY_FUZZ_PROTO_SRCS ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_proto.c
  ${CMAKE_SOURCE_DIR}/worker/wire.c ${CMAKE_SOURCE_DIR}/worker/util.c)
add_executable(fuzz_proto_replay ${SY_FUZZ_PROTO_SRCS})
target_link_libraries(fuzz_proto_replay PRIVATE sy_proto PkgConfig::ZMQ PkgConfig::PROTOBUFC PkgConfig::PQ PkgConfig::JANSSON
  Threads::Threads)
add_test(NAME fuzz_proto_replay COMMAND fuzz_proto_replay 200000)
set_tests_properties(fuzz_proto_replay PROPERTIES LABELS fuzz TIMEOUT 300)
if(SY_FUZZ)
  add_executable(fuzz_proto ${SY_FUZZ_PROTO_SRCS})
  target_compile_definitions(fuzz_proto PRIVATE SY_FUZZ_LIBFUZZER)
  target_compile_options(fuzz_proto PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(fuzz_proto PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_proto PRIVATE sy_proto PkgConfig::ZMQ PkgConfig::PROTOBUFC PkgConfig::PQ PkgConfig::JANSSON
    Threads::Threads)
endif()
