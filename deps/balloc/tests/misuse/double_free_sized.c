/* Freed twice with its size. */
#include "misuse.h"
int main(void) {
    void *p = balloc_malloc(300);
    balloc_free_sized(p, 300);
    misuse_expect("double free", p);
    balloc_free_sized(p, 300);
    return 0;
}
