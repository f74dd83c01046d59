/* tests/fuzz/fuzz_sizes.h -- what both fuzz targets share. Request sizes
 * from three input bytes: mostly
 * small, often up to a page run, sometimes up to 1 MiB, rarely (1 in 128)
 * up to 8 MiB, so the fuzzer spends its time on many operations rather than
 * on filling huge blocks. */
#ifndef FUZZ_SIZES_H
#define FUZZ_SIZES_H

#include <stddef.h>
#include <stdint.h>

static size_t fuzz_size(const uint8_t *d) {
    unsigned v = (unsigned)d[0] | (unsigned)d[1] << 8;
    unsigned pick = d[2] & 127;
    if (pick == 127) return (size_t)(v & 63) << 17; /* up to 8 MiB */
    if (pick >= 120) return (size_t)v * 16;         /* up to 1 MiB */
    if (pick >= 80) return v & 16383;
    if (pick >= 16) return v & 511;
    return v & 15;
}

/* One operation of the input: four bytes, the opcode first; the next three
 * pick the slot (the first of them), the request size (all three) and the
 * fill byte (with the opcode). Returns 0 once fewer than four bytes are
 * left. */
struct fuzz_op {
    uint8_t op;
    uint8_t slot;
    size_t size;
    unsigned char fill;
};

static int fuzz_next_op(const uint8_t **data, size_t *len, struct fuzz_op *o) {
    if (*len < 4) return 0;
    const uint8_t *d = *data;
    o->op = d[0];
    o->slot = d[1];
    o->size = fuzz_size(d + 1);
    o->fill = (unsigned char)(d[0] ^ d[3]);
    *data += 4;
    *len -= 4;
    return 1;
}

/* The byte-by-byte checks run outside coverage instrumentation: they are
 * the model's, not the code under test, and would dominate the run time. */
#if defined(__clang__)
#define FUZZ_NOCOV __attribute__((no_sanitize("coverage", "address")))
#else
#define FUZZ_NOCOV
#endif

FUZZ_NOCOV static int all_bytes(const unsigned char *p, size_t n, unsigned char v) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != v) return 0;
    return 1;
}

#endif
