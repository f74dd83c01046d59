/* A large run (above the cached classes): its pages are free again. */
#include "misuse.h"
int main(void) {
    void *p = balloc_malloc(100000);
    balloc_free(p);
    misuse_expect("double free", p);
    balloc_free(p);
    return 0;
}
