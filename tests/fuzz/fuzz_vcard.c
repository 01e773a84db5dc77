/*
 * fuzz_vcard.c: the CRM's vCard import (`coopgate crm import FILE.vcf`,
 * cli/cli_crm.c) into a real SQLite store in a private directory.
 *
 * The importer, crm_import(), is static in cli_crm.c: this file includes
 * that source file whole to reach it (the archive's cli_crm.o is then not
 * linked), rather than widening the command's interface for a test.
 *
 * Must never: write outside its private directory.
 */
#include "cli/cli_crm.c"

#include <unistd.h>

#include "tests/fuzz/fuzz.h"

static struct cg_store *store;

static void
close_store(void)
{
	cg_store_close(store);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (store == NULL) {
		char *err = NULL;
		if (cg_store_open(fuzz_tmpdir(), 1, &store, &err) != 0) {
			fprintf(stderr, "fuzz_vcard: %s\n", err ? err : "?");
			abort();
		}
		atexit(close_store);
		/* the importer's summary line on stdout, once per input */
		if (freopen("/dev/null", "w", stdout) == NULL)
			abort();
	}
	const char *path = fuzz_write_file("contacts.vcf", data, size);
	if (path)
		crm_import(store, path);
	return 0;
}
