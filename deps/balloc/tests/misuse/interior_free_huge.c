/* A pointer inside a huge block. */
#include "misuse.h"
int main(void) {
    char *p = balloc_malloc(6u << 20);
    misuse_expect("invalid free", p + 8192);
    balloc_free(p + 8192);
    return 0;
}
