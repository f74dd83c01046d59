/* Hardened build: one byte written past a small block's usable end
 * reaches its canary, checked when the block is freed. */
#include "misuse.h"
int main(void) {
    misuse_hardened_only();
    char *p = balloc_malloc(100);
    p[balloc_usable_size(p)] = 0;
    misuse_expect("overflow past the end", p);
    balloc_free(p);
    return 0;
}
