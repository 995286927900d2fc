# bench/jsonata: JSONata evaluations/s and the JSONPath vs JSONata chain (run bench/jsonata.sh)
add_executable(bench-jsonata ${CMAKE_CURRENT_SOURCE_DIR}/jsonata.c)
target_link_libraries(bench-jsonata PRIVATE ${SY_ALL_LIBS} PkgConfig::ZMQ PkgConfig::JANSSON
  PkgConfig::PQ PkgConfig::MHD PkgConfig::CURL PkgConfig::CRYPTO PkgConfig::PROTOBUFC Threads::Threads m dl)
set_target_properties(bench-jsonata PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
