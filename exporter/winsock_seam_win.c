/* The real Winsock functions, as the default contents of the seam. */
#include "winsock_seam_win.h"

#define REAL_WINSOCK_SEAM {                               \
        .wsa_socket = WSASocketW,                         \
        .bind = bind,                                     \
        .listen = listen,                                 \
        .set_handle_information = SetHandleInformation,   \
        .sleep = Sleep,                                   \
    }

static const struct winsock_seam real_seam = REAL_WINSOCK_SEAM;

struct winsock_seam winsock_seam = REAL_WINSOCK_SEAM;

void winsock_seam_reset(void)
{
    winsock_seam = real_seam;
}
