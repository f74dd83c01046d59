/* The second free finds the block in this thread's cache. */
#include "misuse.h"
int main(void) {
    void *p = balloc_malloc(100);
    balloc_free(p);
    misuse_expect("double free", p);
    balloc_free(p);
    return 0;
}
