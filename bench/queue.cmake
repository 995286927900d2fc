add_executable(bench-queue ${CMAKE_CURRENT_SOURCE_DIR}/queue.c ${CMAKE_CURRENT_SOURCE_DIR}/queue_peer.c ${CMAKE_CURRENT_SOURCE_DIR}/cpu_use.c
  ${CMAKE_CURRENT_SOURCE_DIR}/queue_depth.c)
target_link_libraries(bench-queue PRIVATE PkgConfig::JANSSON PkgConfig::PQ Threads::Threads)
set_target_properties(bench-queue PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
