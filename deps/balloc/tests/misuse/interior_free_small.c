/* A pointer inside a small block. */
#include "misuse.h"
int main(void) {
    char *p = balloc_malloc(100);
    misuse_expect("invalid free", p + 16);
    balloc_free(p + 16);
    return 0;
}
