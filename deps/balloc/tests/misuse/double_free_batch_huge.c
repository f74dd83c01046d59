/* A huge block freed in one batch, then in another. */
#include "misuse.h"
int main(void) {
    void *p = balloc_malloc(6u << 20), *q = balloc_malloc(6u << 20);
    void *first[] = {p}, *second[] = {q, p};
    balloc_free_batch(first, 1);
    misuse_expect("double free", p);
    balloc_free_batch(second, 2);
    return 0;
}
