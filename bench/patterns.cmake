# bench/patterns: matcher throughput on citylots-shaped data (run bench/patterns.sh)
add_executable(bench_patterns ${CMAKE_CURRENT_SOURCE_DIR}/patterns.c)
target_link_libraries(bench_patterns PRIVATE ${SY_ALL_LIBS} PkgConfig::ZMQ PkgConfig::JANSSON
  PkgConfig::PQ PkgConfig::MHD PkgConfig::CURL PkgConfig::CRYPTO PkgConfig::PROTOBUFC Threads::Threads m dl)
set_target_properties(bench_patterns PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
