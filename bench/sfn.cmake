add_executable(bench-sfn ${CMAKE_CURRENT_SOURCE_DIR}/sfn.c)
target_link_libraries(bench-sfn PRIVATE PkgConfig::JANSSON PkgConfig::CURL PkgConfig::PQ Threads::Threads)
set_target_properties(bench-sfn PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
