#include "scm_enum_seam_win.h"

#define REAL_SEAM {                                   \
        .open_sc_manager = OpenSCManagerW,            \
        .enum_services = EnumServicesStatusExW,       \
        .close_service_handle = CloseServiceHandle,   \
        .wait_for = WaitForSingleObject,              \
    }

struct scm_enum_seam scm_enum_seam = REAL_SEAM;

void scm_enum_seam_reset(void)
{
    static const struct scm_enum_seam real = REAL_SEAM;
    scm_enum_seam = real;
}
