/* Points a standard stream's file descriptor at another open file for a while, so a test
 * can read back what the code under test wrote to stdout or stderr. By descriptor, not by
 * freopen, so that the stream can be given back afterwards; the same under mingw/Wine. */
#ifndef TCPIP_EXPORTER_TEST_REDIRECT_H
#define TCPIP_EXPORTER_TEST_REDIRECT_H

#include <stdio.h>

/* Flushes stream and sends its descriptor to target's. Returns the saved descriptor to give
 * to redirect_end, or -1 (nothing was changed). */
int redirect_begin(FILE *stream, FILE *target);
/* Flushes stream and points its descriptor back where it was; closes saved. */
void redirect_end(FILE *stream, int saved);

#endif
