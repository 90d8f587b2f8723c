/* Byte-by-byte payload builder: the test oracle for the decoder. Offsets come from the
 * field order in collector/README.md; nothing here knows the decoder's structs. */
#include "payload.h"

#include <string.h>

size_t put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    return 2;
}

size_t put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return 4;
}

size_t put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return 8;
}

size_t put_ptr(uint8_t *p, uint8_t pointer_size, uint64_t v)
{
    return pointer_size == 8 ? put_u64(p, v) : put_u32(p, (uint32_t)v);
}

/* A bounded cursor: writes past cap are dropped and remembered, so builders can be
 * written as a flat list of fields and checked once at the end. */
struct writer {
    uint8_t *out;
    size_t cap, len;
    int overflow;
};

static void w_bytes(struct writer *w, const uint8_t *b, size_t n)
{
    if (w->overflow || n > w->cap - w->len) {
        w->overflow = 1;
        return;
    }
    if (n)
        memcpy(w->out + w->len, b, n);
    w->len += n;
}

static void w_u8(struct writer *w, uint8_t v) { w_bytes(w, &v, 1); }
static void w_u16(struct writer *w, uint16_t v)
{
    uint8_t b[2];
    w_bytes(w, b, put_u16(b, v));
}
static void w_u32(struct writer *w, uint32_t v)
{
    uint8_t b[4];
    w_bytes(w, b, put_u32(b, v));
}
static void w_ptr(struct writer *w, uint8_t ps, uint64_t v)
{
    uint8_t b[8];
    w_bytes(w, b, put_ptr(b, ps, v));
}
/* Ports travel in network byte order: most significant byte first. */
static void w_port(struct writer *w, uint16_t host_order)
{
    w_u8(w, (uint8_t)(host_order >> 8));
    w_u8(w, (uint8_t)host_order);
}

static size_t finish(const struct writer *w)
{
    return w->overflow ? 0 : w->len;
}

enum net_layout { L_NONE, L_SEND, L_GROUP1, L_GROUP2, L_FAIL };

static enum net_layout tcp_layout(uint8_t opcode, size_t *addr_len)
{
    *addr_len = opcode >= 26 ? 16 : 4;
    switch (opcode) {
    case 10: case 26: return L_SEND;
    case 11: case 13: case 14: case 16: case 18:
    case 27: case 29: case 30: case 32: case 34: return L_GROUP1; /* TypeGroup1 / 3 */
    case 12: case 15: case 28: case 31: return L_GROUP2;          /* TypeGroup2 / 4 */
    case 17: return L_FAIL;
    default: return L_NONE;
    }
}

static enum net_layout udp_layout(uint8_t opcode, size_t *addr_len)
{
    *addr_len = opcode >= 26 ? 16 : 4;
    switch (opcode) {
    case 10: case 11: case 26: case 27: return L_GROUP1;
    default: return L_NONE;
    }
}

static size_t build_net(uint8_t *out, size_t cap, enum net_layout layout, size_t alen,
                        uint8_t ps, const struct payload_net *f)
{
    struct writer w = { out, cap, 0, 0 };
    if (layout == L_NONE || (ps != 4 && ps != 8))
        return 0;
    if (layout == L_FAIL) {
        w_u16(&w, f->fail_proto);
        w_u16(&w, f->fail_code);
        return finish(&w);
    }
    w_u32(&w, f->pid);
    w_u32(&w, f->size);
    w_bytes(&w, f->daddr, alen);
    w_bytes(&w, f->saddr, alen);
    w_port(&w, f->dport);
    w_port(&w, f->sport);
    if (layout == L_SEND) {
        w_u32(&w, f->startime);
        w_u32(&w, f->endtime);
    } else if (layout == L_GROUP2) {
        w_u16(&w, f->mss);
        w_u16(&w, f->sackopt);
        w_u16(&w, f->tsopt);
        w_u16(&w, f->wsopt);
        w_u32(&w, f->rcvwin);
        w_u16(&w, (uint16_t)f->rcvwinscale);
        w_u16(&w, (uint16_t)f->sndwinscale);
    }
    w_u32(&w, f->seqnum);
    w_ptr(&w, ps, f->connid);
    return finish(&w);
}

size_t payload_tcpip(uint8_t *out, size_t cap, uint8_t opcode, uint8_t pointer_size,
                     const struct payload_net *fields)
{
    size_t alen;
    enum net_layout layout = tcp_layout(opcode, &alen);
    return build_net(out, cap, layout, alen, pointer_size, fields);
}

size_t payload_udpip(uint8_t *out, size_t cap, uint8_t opcode, uint8_t pointer_size,
                     const struct payload_net *fields)
{
    size_t alen;
    enum net_layout layout = udp_layout(opcode, &alen);
    return build_net(out, cap, layout, alen, pointer_size, fields);
}

size_t payload_net_layout_size(int is_udp, uint8_t opcode, uint8_t pointer_size)
{
    uint8_t buf[128];
    struct payload_net zero;
    memset(&zero, 0, sizeof zero);
    return is_udp ? payload_udpip(buf, sizeof buf, opcode, pointer_size, &zero)
                  : payload_tcpip(buf, sizeof buf, opcode, pointer_size, &zero);
}

/* UserSID: "no SID" is one zero u32; otherwise TOKEN_USER {PSID Sid; DWORD Attributes}
 * padded to two pointers, then the SID itself (revision 1, count, authority 5 = NT). */
static void w_sid(struct writer *w, uint8_t ps, int sub_authorities)
{
    if (sub_authorities < 0) {
        w_u32(w, 0);
        return;
    }
    w_ptr(w, ps, ps == 8 ? UINT64_C(0xffffa8830a1b2c38) : 0x8a1b2c38u); /* kernel Sid pointer */
    w_ptr(w, ps, 0);                                                    /* Attributes */
    w_u8(w, 1);
    w_u8(w, (uint8_t)sub_authorities);
    static const uint8_t nt_authority[6] = { 0, 0, 0, 0, 0, 5 };
    w_bytes(w, nt_authority, sizeof nt_authority);
    for (int i = 0; i < sub_authorities; i++)
        w_u32(w, i == 0 ? 21u : 1000u + (uint32_t)i);
}

static void w_ansi(struct writer *w, const char *s)
{
    if (s)
        w_bytes(w, (const uint8_t *)s, strlen(s));
    w_u8(w, 0);
}

static void w_utf16(struct writer *w, const char *ascii)
{
    for (const char *c = ascii; c && *c; c++)
        w_u16(w, (uint16_t)(unsigned char)*c);
    w_u16(w, 0);
}

/* Everything up to and including UserSID; the returned length is the name's offset.
 * v0 has pointer-sized ProcessId and ParentId only; v1 starts with PageDirectoryBase
 * (written from unique_key) where v2+ have UniqueProcessKey. */
static void w_process_head(struct writer *w, uint8_t version, uint8_t ps,
                           const struct payload_process *f)
{
    if (version == 0) {
        w_ptr(w, ps, f->pid);
        w_ptr(w, ps, f->parent_pid);
    } else {
        w_ptr(w, ps, f->unique_key);
        w_u32(w, f->pid);
        w_u32(w, f->parent_pid);
        w_u32(w, f->session_id);
        w_u32(w, (uint32_t)f->exit_status);
    }
    if (version >= 3)
        w_ptr(w, ps, f->directory_table_base);
    if (version >= 4)
        w_u32(w, f->flags);
    w_sid(w, ps, f->sid_sub_authorities);
}

static int process_args_ok(uint8_t ps, const struct payload_process *f)
{
    return (ps == 4 || ps == 8) && f->sid_sub_authorities <= 15;
}

size_t payload_process(uint8_t *out, size_t cap, uint8_t version, uint8_t pointer_size,
                       const struct payload_process *fields)
{
    struct writer w = { out, cap, 0, 0 };
    if (!process_args_ok(pointer_size, fields))
        return 0;
    w_process_head(&w, version, pointer_size, fields);
    w_ansi(&w, fields->image_name);
    if (version >= 2)
        w_utf16(&w, fields->command_line);
    if (version >= 4) {
        w_utf16(&w, "");  /* PackageFullName */
        w_utf16(&w, "");  /* ApplicationId */
    }
    if (version > 4)
        for (size_t i = 0; i < fields->extra_bytes; i++)
            w_u8(&w, 0xEE);
    return finish(&w);
}

size_t payload_process_name_offset(uint8_t version, uint8_t pointer_size,
                                   const struct payload_process *fields)
{
    uint8_t buf[256];
    struct writer w = { buf, sizeof buf, 0, 0 };
    if (!process_args_ok(pointer_size, fields))
        return 0;
    w_process_head(&w, version, pointer_size, fields);
    return finish(&w);
}
