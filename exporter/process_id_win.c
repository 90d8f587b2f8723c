#include "process_id.h"

#include <windows.h>

uint32_t process_id(void)
{
    return (uint32_t)GetCurrentProcessId();
}
