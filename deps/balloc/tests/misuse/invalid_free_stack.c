/* A pointer to the stack. */
#include "misuse.h"
int main(void) {
    int local = 0;
    void *p = balloc_malloc(8);  /* balloc is started */
    misuse_expect("invalid free", &local);
    balloc_free(&local);
    return p == NULL;
}
