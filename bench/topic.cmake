add_executable(bench-topic ${CMAKE_CURRENT_SOURCE_DIR}/topic.c)
target_link_libraries(bench-topic PRIVATE Threads::Threads)
set_target_properties(bench-topic PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
