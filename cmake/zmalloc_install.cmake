# `cmake --install`: what `make install` installs (zmalloc.h and backends/ in
# include/zmalloc/, balloc.h with
# the bundled backend, the libraries), and a CMake package beside them:
# find_package(zmalloc) gives zmalloc::zmalloc over the backend it was built
# with (zmallocConfig.cmake finds that backend's library again).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(ZMALLOC_INSTALL_TARGETS zmalloc zmalloc_backend)
# zmalloc.h includes backends/select.h: both go to include/zmalloc/, as make
# install puts them.
install(FILES ${PROJECT_SOURCE_DIR}/zmalloc.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/zmalloc)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/backends/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/zmalloc/backends
  FILES_MATCHING PATTERN "*.h")
if(ZMALLOC_MALLOC STREQUAL "bundled")
  list(APPEND ZMALLOC_INSTALL_TARGETS balloc)
  install(FILES ${PROJECT_SOURCE_DIR}/deps/balloc/include/balloc.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endif()
install(TARGETS ${ZMALLOC_INSTALL_TARGETS} EXPORT zmallocTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/zmalloc ${CMAKE_INSTALL_INCLUDEDIR})

set(ZMALLOC_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/zmalloc)
install(EXPORT zmallocTargets NAMESPACE zmalloc:: DESTINATION ${ZMALLOC_CMAKE_DIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/zmallocConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/zmallocConfig.cmake INSTALL_DESTINATION ${ZMALLOC_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/zmallocConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/zmallocConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/zmallocConfigVersion.cmake DESTINATION ${ZMALLOC_CMAKE_DIR})
