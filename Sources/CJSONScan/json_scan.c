#include "json_scan.h"

#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>

/* The stop bytes of a 16-byte block as a bit mask (bit i: byte i). */
static inline unsigned stops16(__m128i x) {
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i below_space = _mm_set1_epi8(0x1F);
    /* Unsigned x <= 0x1F exactly where min(x, 0x1F) == x. */
    __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(x, below_space), x);
    __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)), control);
    return (unsigned)_mm_movemask_epi8(hit);
}
#else
/* Eight bytes at a time elsewhere: a byte of q or b is zero where x has a
 * quote or a backslash; the third term catches bytes below 0x20 (borrows
 * only ever follow a real hit, so "any hit" is exact). */
static inline int stops8(uint64_t x) {
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t q = x ^ (ones * 0x22), b = x ^ (ones * 0x5C);
    return ((((q - ones) & ~q) | ((b - ones) & ~b) | ((x - ones * 0x20) & ~x)) & highs) != 0;
}
#endif

static inline int is_stop(uint8_t c) { return c < 0x20 || c == '"' || c == '\\'; }

size_t json_scan_escaped(const uint8_t *p, size_t i, size_t count) {
#if defined(__SSE2__)
    while (count - i >= 16) {
        unsigned m = stops16(_mm_loadu_si128((const __m128i *)(const void *)(p + i)));
        if (m) return i + (size_t)__builtin_ctz(m);
        i += 16;
    }
#else
    while (count - i >= 8) {
        uint64_t x;
        memcpy(&x, p + i, 8);
        if (stops8(x)) break;
        i += 8;
    }
#endif
    for (; i < count; i++) {
        if (is_stop(p[i])) return i;
    }
    return count;
}

size_t json_scan_plain(const uint8_t *p, size_t i, size_t count, int *non_ascii) {
#if defined(__SSE2__)
    __m128i seen = _mm_setzero_si128();
    while (count - i >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        unsigned m = stops16(x);
        if (m) {
            unsigned at = (unsigned)__builtin_ctz(m);
            /* High bits of the bytes before the stop, and of the blocks before. */
            if (((unsigned)_mm_movemask_epi8(x) & ((1u << at) - 1)) || _mm_movemask_epi8(seen)) *non_ascii = 1;
            return i + at;
        }
        seen = _mm_or_si128(seen, x);
        i += 16;
    }
    if (_mm_movemask_epi8(seen)) *non_ascii = 1;
#else
    uint64_t seen = 0;
    while (count - i >= 8) {
        uint64_t x;
        memcpy(&x, p + i, 8);
        if (stops8(x)) break;
        seen |= x;
        i += 8;
    }
    if (seen & 0x8080808080808080ULL) *non_ascii = 1;
#endif
    for (; i < count; i++) {
        uint8_t c = p[i];
        if (is_stop(c)) return i;
        if (c >= 0x80) *non_ascii = 1;
    }
    return count;
}
