# The backends, one line each: its MALLOC= name, the flags that compile
# zmalloc (and any program including zmalloc.h) for it, the library it
# links (without -l; none for the C library and for balloc, which is built
# from deps/balloc), and the Debian package providing it (none: always
# available). The Makefile includes this file; CMake reads the same lines
# (cmake/zmalloc_backend.cmake). With backends/<name>.h
# (backends/README.md), a line here is all that adding an allocator takes:
# `make print-backends` lists these for the scripts.
$(call BACKEND,bundled,-DUSE_BALLOC,,)
$(call BACKEND,libc,,,)
$(call BACKEND,jemalloc,-DUSE_JEMALLOC,jemalloc,libjemalloc-dev)
$(call BACKEND,tcmalloc,-DUSE_TCMALLOC,tcmalloc,libgoogle-perftools-dev)
$(call BACKEND,tcmalloc_minimal,-DUSE_TCMALLOC,tcmalloc_minimal,libgoogle-perftools-dev)
$(call BACKEND,mimalloc,-DUSE_MIMALLOC,mimalloc,libmimalloc-dev)
