/* A block freed to the thread cache, then in a batch: the batch checks it
 * as a free does. */
#include "misuse.h"
int main(void) {
    void *a = balloc_malloc(64), *p = balloc_malloc(64);
    balloc_free(p);
    void *batch[] = {a, p};
    misuse_expect("double free", p);
    balloc_free_batch(batch, 2);
    return 0;
}
