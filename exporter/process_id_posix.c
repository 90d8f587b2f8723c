#include "process_id.h"

#include <unistd.h>

uint32_t process_id(void)
{
    return (uint32_t)getpid();
}
