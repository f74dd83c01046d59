/* A 100000-byte block freed as a 50000-byte one. */
#include "misuse.h"
int main(void) {
    void *p = balloc_malloc(100000);
    misuse_expect("wrong size in sized free", p);
    balloc_free_sized(p, 50000);
    return 0;
}
