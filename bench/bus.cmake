add_executable(bench-bus ${CMAKE_CURRENT_SOURCE_DIR}/bus.c)
target_link_libraries(bench-bus PRIVATE Threads::Threads)
set_target_properties(bench-bus PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
