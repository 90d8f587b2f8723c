/* The real IP Helper API, as the default contents of the seam. */
#include "ip_helper_seam_win.h"

/* A macro because C has no constant of struct type to initialise both tables from. */
#define REAL_SEAM {                                      \
        .get_extended_tcp_table = GetExtendedTcpTable,   \
        .get_extended_udp_table = GetExtendedUdpTable,   \
    }

static const struct ip_helper_seam real_seam = REAL_SEAM;

struct ip_helper_seam ip_helper_seam = REAL_SEAM;

void ip_helper_seam_reset(void)
{
    ip_helper_seam = real_seam;
}
