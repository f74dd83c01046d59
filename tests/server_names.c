/* tests/server_names.c -- calls the core functions the way a server's own
 * bundled code does (Valkey's and Redis's deps/hdr_histogram): through
 * names it declares itself, without zmalloc.h. Linked into test_zmalloc,
 * which checks each call's effect on the counter. */
#include <stddef.h>

void *valkey_malloc(size_t size);
void *valkey_calloc(size_t size);
void *valkey_realloc(void *ptr, size_t size);
void valkey_free(void *ptr);
void *zmalloc(size_t size);
void *zcalloc(size_t size);
void *zrealloc(void *ptr, size_t size);
void zfree(void *ptr);
void *zcalloc_num(size_t num, size_t size);

/* Each entry: allocate with one name, grow with the realloc of the same
 * family, free with its free. */
struct server_names_family {
    const char *name;
    void *(*alloc)(size_t);
    void *(*calloc)(size_t);
    void *(*realloc)(void *, size_t);
    void (*free)(void *);
};
const struct server_names_family server_names_families[] = {
    {"valkey_*", valkey_malloc, valkey_calloc, valkey_realloc, valkey_free},
    {"plain z*", zmalloc, zcalloc, zrealloc, zfree},
};
const size_t server_names_nfamilies = 2;
void *(*const server_names_calloc_num)(size_t, size_t) = zcalloc_num;
