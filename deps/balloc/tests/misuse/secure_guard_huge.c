/* Hardened build: a huge block has guard pages on both sides. */
#include "misuse.h"
int main(void) {
    misuse_hardened_only();
    char *p = balloc_malloc(6u << 20);
    misuse_expect_signal(SIGSEGV);
    p[-1] = 1;
    return 0;
}
