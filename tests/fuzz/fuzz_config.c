/*
 * fuzz_config.c: the config parser, libconfig text to a cg_config
 * (gateway/config.c: cg_config_load, every check and error message, then
 * cg_config_free).  The text is written to coopgate.conf in a private
 * directory, which is also the include directory and where relative
 * secret files are looked up; nothing else is there.
 *
 * Must never: read a file outside that directory on purpose.
 */
#include <stdio.h>
#include <stdlib.h>

#include "gateway/config.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_write_file("coopgate.conf", data, size);
	if (path == NULL)
		return 0;
	struct cg_config cfg;
	struct cg_config_errors errs;
	cg_config_load(path, &cfg, &errs);
	cg_config_free(&cfg);
	cg_config_errors_free(&errs);
	return 0;
}
