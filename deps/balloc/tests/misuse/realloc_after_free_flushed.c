/* realloc of a block already back in its slab. */
#include "misuse.h"
int main(void) {
    void *p = balloc_malloc(100);
    balloc_free(p);
    balloc_thread_flush();
    misuse_expect("realloc after free", p);
    p = balloc_realloc(p, 200);
    return 0;
}
