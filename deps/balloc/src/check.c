#include "check.h"

#include "pages.h"

uint64_t check_free_key;
uint64_t check_canary_key;

void check_boot(void) {
    uint64_t k[2];
    if (check_free_key)
        return;  /* a fork child booting again keeps its parent's keys */
    (void)pages_entropy(k, sizeof(k));
    /* Never 0 (the value a fresh or cleared block holds). */
    check_free_key = k[0] ? k[0] : 0x9e3779b97f4a7c15ull;
    check_canary_key = k[1];
}
