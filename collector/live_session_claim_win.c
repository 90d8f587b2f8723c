/* The instance claim of collector/live_session.h on Windows: a named mutex in the Global
 * namespace, so that a console run, a second service on another port and the service all
 * see one another whatever session (logon session or service) they run in. The kernel
 * marks a mutex abandoned when its owner dies, which is what proves that a session left
 * behind under our name is an orphan and safe to stop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "bytes.h"
#include "etw_seam_win.h"
#include "live_session.h"
#include "win_error_win.h"

#define CLAIM_PREFIX L"Global\\tcpip_exporter."
/* Kernel object names are at most MAX_PATH characters: a longer session name keeps its
 * first characters and a hash of the whole name. */
#define CLAIM_NAME_KEPT 180

struct live_session_claim {
    HANDLE mutex;                    /* NULL when unproven */
    enum live_claim_state state;
};

static const char *claimed_session(const struct live_session_config *c)
{
    bool kernel_logger = c->kind == LIVE_SESSION_KERNEL_LOGGER ||
                         (c->kind == LIVE_SESSION_AUTO && !etw_seam.system_logger_available());
    if (kernel_logger)
        return KERNEL_LOGGER_NAMEA; /* evntrace.h */
    return c->session_name != NULL && c->session_name[0] != '\0' ? c->session_name
                                                                   : LIVE_SESSION_DEFAULT_NAME;
}

/* CLAIM_PREFIX + session in upper case, with backslashes (reserved in object names) made
 * '_'. Upper case: ETW compares session names without case (folding to upper case), so
 * "TCPIP_EXPORTER" is the session "tcpip_exporter" is, and must meet the same mutex. */
static bool mutex_name(const char *session, wchar_t *out, size_t out_chars)
{
    wchar_t wide[1100], upper[1100];
    int chars = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, session, -1, wide,
                                    (int)ARRAY_SIZE(wide));
    if (chars <= 0 || LCMapStringW(LOCALE_INVARIANT, LCMAP_UPPERCASE, wide, chars, upper,
                                   (int)ARRAY_SIZE(upper)) != chars)
        return false;
    memcpy(wide, upper, (size_t)chars * sizeof *wide);
    uint32_t hash = 2166136261u; /* FNV-1a of the whole name */
    for (wchar_t *c = wide; *c != L'\0'; c++) {
        if (*c == L'\\')
            *c = L'_';
        hash = (hash ^ (uint32_t)*c) * 16777619u;
    }
    if (wcslen(wide) > CLAIM_NAME_KEPT) {
        wide[CLAIM_NAME_KEPT] = L'\0';
        return swprintf(out, out_chars, L"%ls%ls.%08lx", CLAIM_PREFIX, wide,
                        (unsigned long)hash) > 0;
    }
    return swprintf(out, out_chars, L"%ls%ls", CLAIM_PREFIX, wide) > 0;
}

struct live_session_claim *live_session_claim(const struct live_session_config *config,
                                              char *err, size_t err_size)
{
    const char *session = claimed_session(config);
    struct live_session_claim *claim = calloc(1, sizeof *claim);
    if (claim == NULL) {
        snprintf(err, err_size, "live session: out of memory");
        return NULL;
    }
    claim->state = LIVE_CLAIM_UNPROVEN;
    wchar_t name[MAX_PATH];
    if (!mutex_name(session, name, ARRAY_SIZE(name))) {
        collector_log(&config->log, COLLECTOR_LOG_WARN, "live session: the session name is "
                      "not valid UTF-8; an existing session will not be taken over");
        return claim;
    }
    HANDLE mutex = etw_seam.create_mutex(NULL, FALSE, name);
    if (mutex == NULL) {
        /* e.g. a console run without SeCreateGlobalPrivilege: it can still run, it just
         * cannot prove that a session under our name is an orphan */
        collector_log(&config->log, COLLECTOR_LOG_WARN, "live session: cannot create the "
                      "instance mutex %ls: %s; an existing session named %s will not be taken "
                      "over", name, win_error_describe(GetLastError()).text, session);
        return claim;
    }
    DWORD waited = WaitForSingleObject(mutex, 0);
    if (waited == WAIT_OBJECT_0 || waited == WAIT_ABANDONED) {
        claim->mutex = mutex;
        claim->state = waited == WAIT_OBJECT_0 ? LIVE_CLAIM_HELD : LIVE_CLAIM_ORPHANED;
        if (waited == WAIT_ABANDONED)
            collector_log(&config->log, COLLECTOR_LOG_WARN, "live session: an earlier "
                          "instance using session %s ended without stopping", session);
        return claim;
    }
    CloseHandle(mutex);
    free(claim);
    bool singleton = strcmp(session, KERNEL_LOGGER_NAMEA) == 0;
    snprintf(err, err_size, "another tcpip_exporter is running with the session \"%s\" (it "
             "holds %ls); stop it first%s", session, name,
             singleton ? " (there is one NT Kernel Logger per machine)"
                       : ", or give this one its own --session.name");
    return NULL;
}

enum live_claim_state live_session_claim_state(const struct live_session_claim *claim)
{
    return claim != NULL ? claim->state : LIVE_CLAIM_UNPROVEN;
}

void live_session_release(struct live_session_claim *claim)
{
    if (claim == NULL)
        return;
    if (claim->mutex != NULL) {
        /* only the owning thread can release; at process exit the kernel does it anyway */
        ReleaseMutex(claim->mutex);
        CloseHandle(claim->mutex);
    }
    free(claim);
}
