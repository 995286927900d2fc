# tests/fuzz/parsers.cmake - fuzz targets of issue 14 for parsers that had
# none: the flattener alone, schedule expressions, SNS filter policies, the
# intrinsic functions and the worker's Runtime API server. Normal builds:
# <name>_replay (replay.c) over its seeds plus deterministic mutations, ctest
# label fuzz; seeds from ../shared/conformance are written into the build
# tree by conformance_seeds.py (a fixture), never copied into the repo.
# -DSY_FUZZ=ON (clang): libFuzzer binaries <name> (core.cmake instruments
# the module libraries). See docs/fuzzing.md.
set(SY_FUZZ_P_LINK ${SY_ALL_LIBS} PkgConfig::ZMQ PkgConfig::JANSSON PkgConfig::PQ PkgConfig::MHD
  PkgConfig::CURL PkgConfig::CRYPTO PkgConfig::PROTOBUFC Threads::Threads m dl)
set(SY_FUZZ_P_CONF fuzz_flatten fuzz_sns_filter fuzz_intrinsics) # seeded from the conformance corpus
set(SY_FUZZ_P_OWN fuzz_schedule fuzz_runtime_api)                # seeded from tests/fuzz/corpus
find_program(SY_FUZZ_PY python3 NO_CACHE)
foreach(f ${SY_FUZZ_P_CONF} ${SY_FUZZ_P_OWN})
  if(SY_FUZZ)
    add_executable(${f} ${CMAKE_CURRENT_LIST_DIR}/${f}.c)
    target_compile_options(${f} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(${f} PRIVATE -fsanitize=fuzzer,address,undefined)
    set(t ${f})
  else()
    add_executable(${f}_replay ${CMAKE_CURRENT_LIST_DIR}/${f}.c ${CMAKE_CURRENT_LIST_DIR}/replay.c)
    set(t ${f}_replay)
  endif()
  target_link_libraries(${t} PRIVATE ${SY_FUZZ_P_LINK})
  if(f STREQUAL "fuzz_runtime_api")
    # it compiles worker/worker_runtime.c into itself (static handlers); the
    # archive's copy is then not pulled in
    target_include_directories(${t} PRIVATE ${CMAKE_SOURCE_DIR})
  endif()
  if(NOT SY_FUZZ)
    set(env "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
    if(f IN_LIST SY_FUZZ_P_CONF)
      set(seeds ${CMAKE_BINARY_DIR}/tests/${f}_seeds)
      add_test(NAME ${f}_seeds COMMAND ${SY_FUZZ_PY} ${CMAKE_CURRENT_LIST_DIR}/conformance_seeds.py ${f}
        ${CMAKE_SOURCE_DIR}/../shared/conformance ${seeds})
      set_tests_properties(${f}_seeds PROPERTIES LABELS fuzz FIXTURES_SETUP ${f}_SEEDS TIMEOUT 60)
      add_test(NAME ${f} COMMAND ${f}_replay ${seeds} 4000)
      set_tests_properties(${f} PROPERTIES LABELS fuzz TIMEOUT 300 FIXTURES_REQUIRED ${f}_SEEDS ENVIRONMENT "${env}")
    else()
      add_test(NAME ${f} COMMAND ${f}_replay ${CMAKE_CURRENT_LIST_DIR}/corpus/${f} 4000)
      set_tests_properties(${f} PROPERTIES LABELS fuzz TIMEOUT 300 ENVIRONMENT "${env}")
    endif()
  endif()
endforeach()
