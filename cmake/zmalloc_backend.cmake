# The backend ZMALLOC_MALLOC names, as an INTERFACE target zmalloc_backend:
# the flags zmalloc compiles with and the library it links, read from the
# same lines as the Makefile's (backends/backends.mk:
# `$(call BACKEND,name,compile flags,library,Debian package)`).
# ZMALLOC_MALLOCS lists every name there.
file(STRINGS ${CMAKE_CURRENT_LIST_DIR}/../backends/backends.mk ZMALLOC_BACKEND_LINES
  REGEX "^\\$\\(call BACKEND,")
set(ZMALLOC_MALLOCS)
foreach(line IN LISTS ZMALLOC_BACKEND_LINES)
  if(NOT line MATCHES "^\\$\\(call BACKEND,([^,]*),([^,]*),([^,]*),([^,)]*)\\)")
    message(FATAL_ERROR "backends/backends.mk: cannot read '${line}'")
  endif()
  list(APPEND ZMALLOC_MALLOCS ${CMAKE_MATCH_1})
  set(ZMALLOC_FLAGS_${CMAKE_MATCH_1} "${CMAKE_MATCH_2}")
  set(ZMALLOC_LIBRARY_${CMAKE_MATCH_1} "${CMAKE_MATCH_3}")
  set(ZMALLOC_PACKAGE_${CMAKE_MATCH_1} "${CMAKE_MATCH_4}")
endforeach()
