/* The textual part of listen addresses, shared by both socket implementations. */
#include "listen_socket.h"

#include <stdio.h>
#include <string.h>

#include "decimal.h"

static bool valid_port(const char *port)
{
    uint64_t value;
    return strlen(port) <= 5 && decimal_parse(port, 65535, &value) && value >= 1;
}

static bool copy_part(const char *start, size_t length, char *out, size_t size)
{
    if (length >= size)
        return false;
    memcpy(out, start, length);
    out[length] = '\0';
    return true;
}

bool listen_address_split(const char *text, char *host, size_t host_size, char *port,
                          size_t port_size, char *err, size_t err_size)
{
    const char *colon;
    const char *host_start = text;
    size_t host_length;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || close[1] != ':') {
            snprintf(err, err_size, "listen address '%.80s': expected [IPv6]:PORT", text);
            return false;
        }
        host_start = text + 1;
        host_length = (size_t)(close - host_start);
        colon = close + 1;
        if (host_length == 0) {
            snprintf(err, err_size, "listen address '%.80s': empty IPv6 address", text);
            return false;
        }
    } else {
        colon = strrchr(text, ':');
        if (colon == NULL) {
            snprintf(err, err_size, "listen address '%.80s': expected HOST:PORT, [IPv6]:PORT "
                     "or :PORT", text);
            return false;
        }
        host_length = (size_t)(colon - text);
        if (memchr(text, ':', host_length) != NULL) {
            snprintf(err, err_size, "listen address '%.80s': write IPv6 addresses in "
                     "brackets, e.g. [::1]:9731", text);
            return false;
        }
    }
    if (!copy_part(host_start, host_length, host, host_size)) {
        snprintf(err, err_size, "listen address '%.80s': host longer than %zu characters",
                 text, host_size - 1);
        return false;
    }
    if (!copy_part(colon + 1, strlen(colon + 1), port, port_size) || !valid_port(port)) {
        snprintf(err, err_size, "listen address '%.80s': port must be a number from 1 to "
                 "65535", text);
        return false;
    }
    return true;
}

bool listen_host_is_literal(const char *address)
{
    if (address[0] == '[')
        return true;
    const char *colon = strrchr(address, ':');
    if (colon == NULL || colon == address)
        return false;
    for (const char *p = address; p < colon; p++) {
        if ((*p < '0' || *p > '9') && *p != '.')
            return false;
    }
    return true;
}
