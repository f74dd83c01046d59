/* huge — blocks too big for arena chunks (> 3.5 MiB, or aligned beyond what
 * a chunk can hold): each is its own mapping, page-rounded, with a one-page
 * header found through chunk_map:
 *   CHUNK_KIND_HUGE:      header at the base of the chunk holding the user
 *                         pointer (user = base + max(align, page));
 *   CHUNK_KIND_HUGE_PREV: header in the page just before it (align >= 4 MiB,
 *                         the user pointer starts a chunk).
 * No locks: counters are atomic. Error convention: huge_alloc returns NULL
 * on OOM; huge_resize returns true on failure; huge_hdr_of returns NULL for
 * anything that is not a huge block's user pointer.
 */
#ifndef BALLOC_HUGE_H
#define BALLOC_HUGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HUGE_MAGIC 0x6261686775676521ull

/* Invariants: map is page-aligned, [map, map + map_size) is mapped and holds
 * this header and [user, user + usable); usable is a page multiple. */
struct huge_hdr {
    uint64_t magic;
    char *user;
    char *map;
    size_t map_size;
    size_t usable;
};

void *huge_alloc(size_t size, size_t align);  /* zero-filled */
struct huge_hdr *huge_hdr_of(const void *p);
void huge_free(struct huge_hdr *h);
bool huge_resize(struct huge_hdr *h, size_t size);
void huge_stats(size_t *allocated, size_t *mapped, size_t *metadata);

#endif
