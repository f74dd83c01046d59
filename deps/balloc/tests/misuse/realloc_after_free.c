/* realloc of a block in this thread's cache. */
#include "misuse.h"
int main(void) {
    void *p = balloc_malloc(100);
    balloc_free(p);
    misuse_expect("realloc after free", p);
    p = balloc_realloc(p, 200);
    return 0;
}
