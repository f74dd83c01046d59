/* A block freed on the defrag path, then freed again through the cache: it
 * holds no key, so the cache takes it, and the flush names it (the hardened
 * build, which keys it, names the second free itself). */
#include "misuse.h"
int main(void) {
    void *p = balloc_malloc(100);
    balloc_free_usable_no_tcache(p);
    misuse_expect("double free", p);
    balloc_free(p);
    balloc_thread_flush();
    return 0;
}
