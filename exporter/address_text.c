/* Remote addresses as text (RFC 5952 for IPv6) and address filters, without inet_ntop or
 * inet_pton: Winsock's and glibc's texts differ in corner cases (IPv4-compatible and
 * mapped forms), and the `remote` label must be the same string on every build. */
#include "address_text.h"

#include <string.h>

#include "decode.h"

enum { IPV4_BITS = 32, IPV6_BITS = 128, IPV6_GROUPS = 8 };

/* A bounded appender: address texts are short and their bound is known, so every write
 * fits ADDRESS_TEXT_MAX; the check only keeps a wrong caller from overrunning. */
struct text_out {
    char *buf;
    size_t len;
};

static void put_char(struct text_out *o, char c)
{
    if (o->len + 1 < ADDRESS_TEXT_MAX)
        o->buf[o->len++] = c;
}

static void put_decimal(struct text_out *o, unsigned value)
{
    char digits[4];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value && n < sizeof digits);
    while (n)
        put_char(o, digits[--n]);
}

/* Lower case, without leading zeros (RFC 5952 4.1, 4.3). */
static void put_hex_group(struct text_out *o, unsigned group)
{
    static const char hex[] = "0123456789abcdef";
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
        unsigned nibble = (group >> shift) & 0xF;
        if (nibble || started || shift == 0) {
            put_char(o, hex[nibble]);
            started = true;
        }
    }
}

static void put_quad(struct text_out *o, const uint8_t a[4])
{
    for (int i = 0; i < 4; i++) {
        if (i)
            put_char(o, '.');
        put_decimal(o, a[i]);
    }
}

/* The longest run of two or more zero groups, the first of equal ones (RFC 5952 4.2.2,
 * 4.2.3): *start and the length, 0 when there is none. */
static unsigned longest_zero_run(const unsigned groups[IPV6_GROUPS], unsigned *start)
{
    unsigned best = 0, run = 0;
    *start = 0;
    for (unsigned i = 0; i < IPV6_GROUPS; i++) {
        run = groups[i] == 0 ? run + 1 : 0;
        if (run > best) {   /* strictly longer: an equal later run does not win */
            best = run;
            *start = i + 1 - run;
        }
    }
    return best >= 2 ? best : 0;
}

/* RFC 5952 5: the IPv4-mapped prefix is the one well-known form written with a quad. */
static bool ipv4_mapped(const uint8_t a[16])
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(a, prefix, sizeof prefix) == 0;
}

static void put_ipv6(struct text_out *o, const uint8_t a[16])
{
    if (ipv4_mapped(a)) {
        for (const char *p = "::ffff:"; *p; p++)
            put_char(o, *p);
        put_quad(o, a + 12);
        return;
    }
    unsigned groups[IPV6_GROUPS];
    for (unsigned i = 0; i < IPV6_GROUPS; i++)
        groups[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
    unsigned start;
    unsigned run = longest_zero_run(groups, &start);
    for (unsigned i = 0; i < IPV6_GROUPS; i++) {
        if (run && i == start) {
            put_char(o, ':');
            put_char(o, ':');
            i += run - 1;
            continue;
        }
        if (i && !(run && i == start + run))   /* "::" already separates */
            put_char(o, ':');
        put_hex_group(o, groups[i]);
    }
}

size_t address_text(char out[ADDRESS_TEXT_MAX], unsigned family, const uint8_t address[16],
                    unsigned prefix_len)
{
    struct text_out o = {out, 0};
    unsigned bits = family == FAMILY_IPV4 ? IPV4_BITS : IPV6_BITS;
    if (family == FAMILY_IPV4)
        put_quad(&o, address);
    else
        put_ipv6(&o, address);
    if (prefix_len < bits) {
        put_char(&o, '/');
        put_decimal(&o, prefix_len);
    }
    out[o.len] = '\0';
    return o.len;
}

/* ---- parsing ---- */

/* A decimal without sign or leading zero ("0" itself is fine), at most max, at most
 * max_digits digits: *end is past it. Strict because "010" reads as octal to inet_aton
 * and as ten to others; a filter that means different hosts to different tools is a trap. */
static bool parse_decimal(const char *s, unsigned max, unsigned max_digits, unsigned *value,
                          const char **end)
{
    unsigned v = 0, n = 0;
    while (s[n] >= '0' && s[n] <= '9') {
        if (n == max_digits || (n == 1 && s[0] == '0'))
            return false;
        v = v * 10 + (unsigned)(s[n] - '0');
        n++;
    }
    if (n == 0 || v > max)
        return false;
    *value = v;
    *end = s + n;
    return true;
}

/* Exactly a dotted quad at s, up to stop (exclusive). */
static bool parse_quad(const char *s, const char *stop, uint8_t out[4])
{
    for (int i = 0; i < 4; i++) {
        unsigned octet;
        if (i && *s++ != '.')
            return false;
        if (s >= stop || !parse_decimal(s, 255, 3, &octet, &s))
            return false;
        out[i] = (uint8_t)octet;
    }
    return s == stop;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* One to four hex digits at s (RFC 4291 2.2 allows leading zeros and upper case on input). */
static bool parse_hex_group(const char *s, const char *stop, unsigned *group,
                            const char **end)
{
    unsigned v = 0, n = 0;
    while (s + n < stop && hex_value(s[n]) >= 0) {
        if (n == 4)
            return false;
        v = v << 4 | (unsigned)hex_value(s[n]);
        n++;
    }
    if (n == 0)
        return false;
    *group = v;
    *end = s + n;
    return true;
}

/* Whether the text from s to stop is a dotted quad's start: digits up to a '.'. */
static bool quad_follows(const char *s, const char *stop)
{
    while (s < stop && *s >= '0' && *s <= '9')
        s++;
    return s < stop && *s == '.';
}

/* The groups of one side of "::" (or of the whole address without one), an embedded quad
 * allowed at the very end when tail_quad: their count into *count (a quad counts two). */
static bool parse_groups(const char *s, const char *stop, bool tail_quad, uint8_t *out,
                         unsigned max, unsigned *count)
{
    unsigned n = 0;
    if (s == stop) {
        *count = 0;
        return true;
    }
    for (;;) {
        if (tail_quad && quad_follows(s, stop)) {
            if (n + 2 > max || !parse_quad(s, stop, out + 2 * n))
                return false;
            *count = n + 2;
            return true;
        }
        unsigned group;
        if (n == max || !parse_hex_group(s, stop, &group, &s))
            return false;
        out[2 * n] = (uint8_t)(group >> 8);
        out[2 * n + 1] = (uint8_t)group;
        n++;
        if (s == stop)
            break;
        if (*s++ != ':' || s == stop)   /* a lone ':' at the end is junk */
            return false;
    }
    *count = n;
    return true;
}

/* Find "::" in [s, stop): at most one may occur. */
static bool find_double_colon(const char *s, const char *stop, const char **at)
{
    *at = NULL;
    for (const char *p = s; p + 1 < stop; p++) {
        if (p[0] == ':' && p[1] == ':') {
            if (*at)
                return false;
            *at = p;
            p++;
        }
    }
    return true;
}

static bool parse_ipv6(const char *s, const char *stop, uint8_t out[16])
{
    const char *gap;
    memset(out, 0, 16);
    if (!find_double_colon(s, stop, &gap))
        return false;
    unsigned head, tail;
    if (!gap)
        return parse_groups(s, stop, true, out, IPV6_GROUPS, &head) && head == IPV6_GROUPS;
    /* "::" stands for at least one group, so each side holds at most seven */
    uint8_t back[16];
    if (!parse_groups(s, gap, false, out, IPV6_GROUPS - 1, &head) ||
        !parse_groups(gap + 2, stop, true, back, IPV6_GROUPS - 1 - head, &tail))
        return false;
    memcpy(out + 16 - 2 * tail, back, 2 * tail);
    return true;
}

/* Clear the bits past prefix_len, so a match compares whole bytes up to it. */
static void mask_address(uint8_t address[16], unsigned prefix_len)
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned keep = prefix_len > 8 * i ? prefix_len - 8 * i : 0;
        if (keep < 8)
            address[i] &= (uint8_t)(0xFF00u >> keep);
    }
}

/* The address part, brackets already removed: a quad is IPv4, anything with ':' IPv6. */
static bool parse_address(const char *s, const char *stop, bool bracketed,
                          struct address_filter *out)
{
    memset(out->address, 0, sizeof out->address);
    if (!bracketed && parse_quad(s, stop, out->address)) {
        out->family = FAMILY_IPV4;
        return true;
    }
    if (memchr(s, ':', (size_t)(stop - s)) == NULL)
        return false;
    out->family = FAMILY_IPV6;
    return parse_ipv6(s, stop, out->address);
}

bool address_filter_parse(const char *text, struct address_filter *out)
{
    if (text == NULL || *text == '\0')
        return false;
    const char *end = text + strlen(text);
    const char *slash = strchr(text, '/');
    const char *addr_end = slash ? slash : end;
    bool bracketed = text[0] == '[';
    if (bracketed) {
        /* only around the address ("[2001:db8::]/32"), as in URLs */
        if (addr_end - text < 2 || addr_end[-1] != ']')
            return false;
        text++;
        addr_end--;
    }
    if (!parse_address(text, addr_end, bracketed, out))
        return false;
    unsigned bits = out->family == FAMILY_IPV4 ? IPV4_BITS : IPV6_BITS;
    out->prefix_len = bits;
    if (slash) {
        const char *after;
        if (!parse_decimal(slash + 1, bits, 3, &out->prefix_len, &after) || after != end)
            return false;
    }
    mask_address(out->address, out->prefix_len);
    return true;
}

static bool prefix_equal(const uint8_t a[16], const uint8_t b[16], unsigned bits)
{
    unsigned whole = bits / 8, rest = bits % 8;
    if (memcmp(a, b, whole) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xFF00u >> rest);
    return (a[whole] & mask) == (b[whole] & mask);
}

bool address_filter_match(const struct address_filter *filter, unsigned family,
                          const uint8_t address[16], unsigned stored_prefix)
{
    if (filter->family != family)
        return false;
    /* a peer kept as 10.1.2.0/24 may hold 10.1.2.3: the filter's host is in it */
    unsigned bits = filter->prefix_len < stored_prefix ? filter->prefix_len : stored_prefix;
    return prefix_equal(filter->address, address, bits);
}
