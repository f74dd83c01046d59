/* A block of the C library's heap. */
#include "misuse.h"
int main(void) {
    void *p = malloc(64);
    void *q = balloc_malloc(8);
    misuse_expect("invalid free", p);
    balloc_free(p);
    return q == NULL;
}
