/*
 * names.c: the layer and delivery-mode names of lib/names.h.  The tables
 * are indexed by the enum value, so a name and its value cannot drift.
 *
 * Must never: accept a name case-insensitively or by prefix (config files
 * and the CLI spell them exactly as CONTRACT.md does).
 */
#include <string.h>

#include "lib/names.h"

static const char *const layer_names[] = {"guest", "partner", "member", "core"};
static const char *const delivery_names[] = {"each", "digest", "none"};

#define NNAMES(a) (sizeof(a) / sizeof((a)[0]))

/* Index of s in names[0..n), or -1. */
static int
name_index(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

const char *
cg_layer_name(enum cg_layer l)
{
	return (unsigned)l < NNAMES(layer_names) ? layer_names[l] : "?";
}

int
cg_layer_parse(const char *s, enum cg_layer *out)
{
	int i = name_index(layer_names, NNAMES(layer_names), s);
	if (i < 0)
		return -1;
	*out = (enum cg_layer)i;
	return 0;
}

const char *
cg_delivery_name(enum cg_delivery d)
{
	return (unsigned)d < NNAMES(delivery_names) ? delivery_names[d] : "?";
}

int
cg_delivery_parse(const char *s, enum cg_delivery *out)
{
	int i = name_index(delivery_names, NNAMES(delivery_names), s);
	if (i < 0)
		return -1;
	*out = (enum cg_delivery)i;
	return 0;
}
