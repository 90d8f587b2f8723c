/* Remote addresses as text, and address filters: the `remote` label of tcpip_peer_* series,
 * the JSON API's remote field and its remote= filter. Portable (no inet_ntop: the same text
 * natively and in the Windows executable). */
#ifndef TCPIP_EXPORTER_ADDRESS_TEXT_H
#define TCPIP_EXPORTER_ADDRESS_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "255.255.255.255/32" and the longest IPv6 text with "/128", plus the NUL. */
enum { ADDRESS_TEXT_MAX = 56 };

/* The address (family: enum ip_family; network order; 4 bytes used for IPv4) as text:
 * dotted quad, or RFC 5952 for IPv6 (lower case, longest run of two or more zero groups as
 * "::", the first of equal runs; IPv4-mapped as ::ffff:a.b.c.d). With prefix_len below the
 * family's full length, "/len" follows (the address is expected masked already). Returns
 * the length written (without the NUL). */
size_t address_text(char out[ADDRESS_TEXT_MAX], unsigned family, const uint8_t address[16],
                    unsigned prefix_len);

/* An address or prefix as a filter accepts it: "10.1.2.3", "10.1.0.0/16", "2001:db8::1",
 * "2001:db8::/32", "[2001:db8::1]" (brackets allowed). Host bits beyond the prefix are
 * ignored. false for anything else (empty, junk, a prefix past 32 / 128, a zone id). */
struct address_filter {
    unsigned family;           /* enum ip_family */
    unsigned prefix_len;
    uint8_t address[16];
};
bool address_filter_parse(const char *text, struct address_filter *out);

/* Whether a peer's address (of its family, kept to stored_prefix bits) lies in the filter:
 * same family and the first min(filter, stored) prefix bits equal. */
bool address_filter_match(const struct address_filter *filter, unsigned family,
                          const uint8_t address[16], unsigned stored_prefix);

#endif
