# tests/conformance/jsonata_fmt_diff.cmake - asl/jsonata/fmt_*.c (the picture-string, number and
# date/time functions of JSONata) against jsonata-js 2.2.2 on pseudo-random inputs (issue 13).
# The npm project tests/conformance/jsonata_fmt_diff/ is installed by scripts/install-deps; without
# node or it the test reports itself skipped.
add_executable(jsonata_fmt_diff_drv ${CMAKE_CURRENT_LIST_DIR}/jsonata_fmt_diff/drv.c)
target_link_libraries(jsonata_fmt_diff_drv PRIVATE ${SY_ALL_LIBS} PkgConfig::ZMQ PkgConfig::JANSSON PkgConfig::PQ
  PkgConfig::MHD PkgConfig::CURL PkgConfig::CRYPTO PkgConfig::PROTOBUFC Threads::Threads m dl)
add_test(NAME conformance_jsonata_fmt_diff
  COMMAND python3 ${CMAKE_CURRENT_LIST_DIR}/jsonata_fmt_diff/diff.py $<TARGET_FILE:jsonata_fmt_diff_drv> 6000 13)
set_tests_properties(conformance_jsonata_fmt_diff PROPERTIES LABELS conformance TIMEOUT 600 SKIP_RETURN_CODE 77)
