/* A large block of a cached class (16..32 KiB), in this thread's cache. */
#include "misuse.h"
int main(void) {
    void *p = balloc_malloc(20000);
    balloc_free(p);
    misuse_expect("double free", p);
    balloc_free(p);
    return 0;
}
