/* Writes the fuzz seed corpus (tests/etl/corpus): the scenario traces whole and cut at a
 * few places, so the fuzzer starts from valid structure. Run by hand after changing the
 * writer or scenarios: make_corpus DIR */
#include <stdio.h>
#include <string.h>

#include "etl_scenarios.h"

static void put(const char *dir, const char *name, const uint8_t *data, size_t size)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!etl_write_file(path, data, size))
        fprintf(stderr, "cannot write %s\n", path);
}

static void trace(const char *dir, const char *name, struct etl_writer *w)
{
    size_t size;
    const uint8_t *data = etl_writer_finish(w, &size);
    char cut[128];
    put(dir, name, data, size);
    snprintf(cut, sizeof cut, "%s-cut-half", name);
    put(dir, cut, data, size / 2);
    snprintf(cut, sizeof cut, "%s-cut-header", name);
    put(dir, cut, data, size > 1100 ? 1100 : size);
    etl_writer_free(w);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    trace(dir, "mixed64.etl", scenario_mixed64());
    trace(dir, "compressed32.etl", scenario_compressed32(false));
    trace(dir, "compressed32-literals.etl", scenario_compressed32(true));
    return 0;
}
