/* realloc of a freed large block. */
#include "misuse.h"
int main(void) {
    void *p = balloc_malloc(100000);
    balloc_free(p);
    misuse_expect("realloc after free", p);
    p = balloc_realloc(p, 200000);
    return 0;
}
