/* A pointer inside a block, in a batch. */
#include "misuse.h"
int main(void) {
    char *p = balloc_malloc(200);
    void *batch[] = {p + 16};
    misuse_expect("invalid free", p + 16);
    balloc_free_batch(batch, 1);
    return 0;
}
