/* version.h: the one place the version lives. */
#ifndef CG_VERSION_H
#define CG_VERSION_H
#define COOPGATE_VERSION "0.1.0"
#endif
