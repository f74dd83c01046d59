/* A block freed on the defrag path goes straight to its slab, without the
 * free key: the slab's bitmap names the second free. */
#include "misuse.h"
int main(void) {
    void *p = balloc_malloc(100);
    balloc_free_usable_no_tcache(p);
    misuse_expect("double free", p);
    balloc_free_usable_no_tcache(p);
    return 0;
}
