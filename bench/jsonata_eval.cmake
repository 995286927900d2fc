# bench/jsonata_eval: the JSONata evaluator alone (run bench/jsonata_eval.sh); issue 13
add_executable(bench_jsonata_eval ${CMAKE_CURRENT_SOURCE_DIR}/jsonata_eval.c)
target_link_libraries(bench_jsonata_eval PRIVATE ${SY_ALL_LIBS} PkgConfig::ZMQ PkgConfig::JANSSON
  PkgConfig::PQ PkgConfig::MHD PkgConfig::CURL PkgConfig::CRYPTO PkgConfig::PROTOBUFC Threads::Threads m dl)
target_include_directories(bench_jsonata_eval PRIVATE ${CMAKE_SOURCE_DIR})
set_target_properties(bench_jsonata_eval PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
