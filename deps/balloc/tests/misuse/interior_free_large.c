/* A pointer inside a large block. */
#include "misuse.h"
int main(void) {
    char *p = balloc_malloc(100000);
    misuse_expect("invalid free", p + 4096);
    balloc_free(p + 4096);
    return 0;
}
