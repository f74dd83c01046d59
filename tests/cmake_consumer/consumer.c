/* Links the installed zmalloc through find_package(zmalloc): the counter
 * moves by the block's size and returns to 0. Exit status 0 when it does. */
#include <stdio.h>

#include <zmalloc.h>

int main(void) {
    void *p = zmalloc(100);
    size_t held = zmalloc_used_memory();
    size_t size = zmalloc_size(p);
    zfree(p);
    size_t after = zmalloc_used_memory();
    printf("%s: held %zu for a block of %zu, %zu after free\n", ZMALLOC_LIB, held, size, after);
    return held == size && size >= 100 && after == 0 ? 0 : 1;
}
