# Issue 11 (fleet): the ledger handler the fleet e2e tests count runs with.
add_library(sy_ledger_handler MODULE ${CMAKE_SOURCE_DIR}/tests/worker/ledger_handler.c)
target_include_directories(sy_ledger_handler PRIVATE ${CMAKE_SOURCE_DIR}/include)
set_target_properties(sy_ledger_handler PROPERTIES PREFIX "" LIBRARY_OUTPUT_DIRECTORY
  ${CMAKE_BINARY_DIR}/tests/worker)
