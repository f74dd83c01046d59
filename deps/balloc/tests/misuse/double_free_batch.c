/* A block twice in one batch: sorted, the two copies meet. */
#include "misuse.h"
int main(void) {
    void *a = balloc_malloc(100), *p = balloc_malloc(100), *b = balloc_malloc(5000);
    void *batch[] = {p, a, b, p};
    misuse_expect("double free", p);
    balloc_free_batch(batch, 4);
    return 0;
}
