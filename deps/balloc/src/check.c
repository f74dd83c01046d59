#include "check.h"

#include "pages.h"

#if BALLOC_SECURE
uint64_t check_free_key;
uint64_t check_canary_key;
#endif
static int check_booted;

void check_boot(void) {
    if (!BALLOC_SECURE || check_booted)
        return;  /* a fork child booting again keeps its parent's keys */
    check_booted = 1;
#if BALLOC_SECURE
    uint64_t k[2];
    (void)pages_entropy(k, sizeof(k));
    /* Never 0 (the value a fresh or cleared block holds). */
    check_free_key = k[0] ? k[0] : 0x9e3779b97f4a7c15ull;
    check_canary_key = k[1];
#endif
}
