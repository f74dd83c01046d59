/* base — balloc's own metadata memory (never user blocks), from mmap.
 *
 * Blocks are rounded to a power of two (>= 64 B) and recycled per size.
 * Thread-safe: one lock, the last in the lock order (lockrank.h). Error convention:
 * base_alloc returns NULL when the OS refuses memory. Memory is zeroed.
 */
#ifndef BALLOC_BASE_H
#define BALLOC_BASE_H

#include <stddef.h>

void *base_alloc(size_t size);
void base_free(void *p, size_t size);
size_t base_mapped(void);       /* bytes mapped for metadata */
void base_prefork(void);
void base_postfork_parent(void);
void base_postfork_child(void);

#endif
