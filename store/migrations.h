/* migrations.h: the schema files compiled in by store/schema/embed.sh. */
#ifndef CG_MIGRATIONS_H
#define CG_MIGRATIONS_H

struct cg_migration {
	int version;      /* NNN of store/schema/NNN_name.sql */
	const char *name; /* "001_core" */
	const char *sql;
};
extern const struct cg_migration cg_migrations[];
extern const int cg_migrations_count;

#endif
