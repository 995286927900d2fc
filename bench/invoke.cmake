# bench_invoke: pool -> worker -> pool round trips with a C echo handler.
# Run it with bench/run-invoke.sh (Release build).
add_executable(bench_invoke ${CMAKE_SOURCE_DIR}/bench/invoke.c)
target_link_libraries(bench_invoke PRIVATE ${SY_ALL_LIBS} PkgConfig::ZMQ PkgConfig::JANSSON
  PkgConfig::PQ PkgConfig::MHD PkgConfig::CURL PkgConfig::CRYPTO PkgConfig::PROTOBUFC
  Threads::Threads m dl)
if(TARGET sy_test_handler)
  add_dependencies(bench_invoke sy_test_handler switchyard)
endif()
# bench_invoke_api: the Lambda API through HTTP (bench/run-invoke-api.sh).
add_executable(bench_invoke_api ${CMAKE_SOURCE_DIR}/bench/invoke_api.c)
target_link_libraries(bench_invoke_api PRIVATE Threads::Threads)
