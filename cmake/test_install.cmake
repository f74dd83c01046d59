# ctest's install_find_package: `cmake --install` the build into a scratch
# prefix, then configure, build and run tests/cmake_consumer, a project that
# knows only find_package(zmalloc). Run with -DBIN=<build dir> -DSRC=<source dir>.
set(prefix ${BIN}/install-test)
set(consumer ${BIN}/consumer-test)
file(REMOVE_RECURSE ${prefix} ${consumer})
foreach(step
    "${CMAKE_COMMAND};--install;${BIN};--prefix;${prefix}"
    "${CMAKE_COMMAND};-S;${SRC}/tests/cmake_consumer;-B;${consumer};-DCMAKE_PREFIX_PATH=${prefix}"
    "${CMAKE_COMMAND};--build;${consumer}"
    "${consumer}/consumer")
  execute_process(COMMAND ${step} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${step} failed (${rc}):\n${out}")
  endif()
endforeach()
message(STATUS "${out}")
