/* Hardened build: a large block is followed by a guard page. */
#include "misuse.h"
int main(void) {
    misuse_hardened_only();
    char *p = balloc_malloc(100000);
    misuse_expect_signal(SIGSEGV);
    p[balloc_usable_size(p)] = 1;
    return 0;
}
