/* A huge block (its own mapping). */
#include "misuse.h"
int main(void) {
    void *p = balloc_malloc(6u << 20);
    balloc_free(p);
    misuse_expect("double free", p);
    balloc_free(p);
    return 0;
}
