/* The first free reached the slab: its region is marked free. */
#include "misuse.h"
int main(void) {
    void *p = balloc_malloc(100);
    balloc_free(p);
    balloc_thread_flush();
    misuse_expect("double free", p);
    balloc_free(p);
    return 0;
}
