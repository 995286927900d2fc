# bench/receive_json: ReceiveMessage's JSON body built as a json_t tree or written directly (issue 15)
add_executable(bench_receive_json ${CMAKE_CURRENT_SOURCE_DIR}/receive_json.c)
target_link_libraries(bench_receive_json PRIVATE ${SY_ALL_LIBS} PkgConfig::ZMQ PkgConfig::JANSSON
  PkgConfig::PQ PkgConfig::MHD PkgConfig::CURL PkgConfig::CRYPTO PkgConfig::PROTOBUFC Threads::Threads m dl)
target_include_directories(bench_receive_json PRIVATE ${CMAKE_SOURCE_DIR})
set_target_properties(bench_receive_json PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
