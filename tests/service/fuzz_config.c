/* libFuzzer target: the config file together with the command line (service/config.c).
 * The input is split at NUL bytes: the first chunk is the config file's text, the others
 * are arguments, after which "--config.file PATH" is added when the file chunk is not
 * empty. --help, -h and --version are dropped: they only print. Every refusal must say
 * why, and nothing may leak or overflow (ASan, UBSan). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

#define MAX_ARGS 64

static char config_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(config_path, sizeof config_path, "/tmp/fuzz_config.%ld.json", (long)getpid());
    return 0;
}

static void write_config(const uint8_t *data, size_t size)
{
    FILE *f = fopen(config_path, "wb");
    if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
}

static bool prints_only(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 || strcmp(arg, "--version") == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    size_t file_size = strlen(copy);
    char *argv[MAX_ARGS + 4] = { "tcpip_exporter" };
    int argc = 1;
    for (size_t at = file_size + 1; at < size && argc < MAX_ARGS; at += strlen(copy + at) + 1) {
        if (!prints_only(copy + at))
            argv[argc++] = copy + at;
    }
    if (file_size > 0) {
        write_config(data, file_size);
        argv[argc++] = "--config.file";
        argv[argc++] = config_path;
    }
    struct config config;
    char err[512];
    enum config_result result = config_parse(&config, argc, argv, err, sizeof err);
    if (result == CONFIG_ERROR && err[0] == '\0')
        abort(); /* every refusal says why */
    if (result == CONFIG_RUN)
        free(config_to_json(&config));
    config_free(&config);
    free(copy);
    return 0;
}
