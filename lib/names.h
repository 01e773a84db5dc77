/*
 * names.h: the community's fixed vocabularies, shared by every layer:
 * the membership layers (guest < partner < member < core) and the delivery
 * modes of a subscription (each, digest, none).  Names are CONTRACT.md's.
 *
 * Must never: depend on anything above the base layer (config, store).
 */
#ifndef CG_NAMES_H
#define CG_NAMES_H

/* Ordered: a higher value may do everything a lower one may. */
enum cg_layer {
	CG_LAYER_GUEST,
	CG_LAYER_PARTNER,
	CG_LAYER_MEMBER,
	CG_LAYER_CORE
};
enum cg_delivery { CG_DELIVERY_EACH, CG_DELIVERY_DIGEST, CG_DELIVERY_NONE };

/* Names <-> enums; parse functions return 0 on success, -1 if unknown.
 * A name function returns "?" for a value out of range. */
const char *cg_layer_name(enum cg_layer l);
int cg_layer_parse(const char *s, enum cg_layer *out);
const char *cg_delivery_name(enum cg_delivery d);
int cg_delivery_parse(const char *s, enum cg_delivery *out);

#endif
