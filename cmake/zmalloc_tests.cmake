# `ctest`: the zmalloc suites, as `make check` runs them (test_faults with
# the bundled backend only: it injects faults into balloc and links balloc's
# objects with their internal symbols). They use balloc's harness.
set(ZMALLOC_HARNESS_DIR ${PROJECT_SOURCE_DIR}/deps/balloc/tests)
set(ZMALLOC_TESTS test_zmalloc test_lazyfree test_stress)
add_executable(test_zmalloc tests/test_zmalloc.c tests/server_names.c)
add_executable(test_lazyfree tests/test_lazyfree.c)
add_executable(test_stress tests/test_stress.c)
target_link_libraries(test_zmalloc PRIVATE zmalloc)
target_link_libraries(test_lazyfree PRIVATE zmalloc)
target_link_libraries(test_stress PRIVATE zmalloc)
if(ZMALLOC_MALLOC STREQUAL "bundled")
  list(APPEND ZMALLOC_TESTS test_faults)
  # zmalloc's objects over balloc's plain ones (not libballoc's single
  # object: one copy of balloc, whose faults the test injects).
  add_executable(test_faults tests/test_faults.c $<TARGET_OBJECTS:zmalloc_objects>)
  target_compile_options(test_faults PRIVATE
    $<TARGET_PROPERTY:zmalloc_backend,INTERFACE_COMPILE_OPTIONS>)
  target_link_libraries(test_faults PRIVATE balloc_internal)
endif()
foreach(t ${ZMALLOC_TESTS})
  set_target_properties(${t} PROPERTIES C_STANDARD 11 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
  target_include_directories(${t} PRIVATE ${ZMALLOC_HARNESS_DIR})
  if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${t} PRIVATE -Wall -Wextra -Werror)
  endif()
  add_test(NAME ${t} COMMAND ${t})
endforeach()

# The installed package works from a project outside the tree.
add_test(NAME install_find_package
  COMMAND ${CMAKE_COMMAND} -DBIN=${PROJECT_BINARY_DIR} -DSRC=${PROJECT_SOURCE_DIR}
    -P ${PROJECT_SOURCE_DIR}/cmake/test_install.cmake)
