/* A 100-byte block freed as a 300-byte one (another class). */
#include "misuse.h"
int main(void) {
    void *p = balloc_malloc(100);
    misuse_expect("wrong size in sized free", p);
    balloc_free_sized(p, 300);
    return 0;
}
