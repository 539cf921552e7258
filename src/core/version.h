/* The version of zoptic (the Makefile reads it for the shared library's
 * file name and zoptic.pc).  A header of its own so that code below the
 * umbrella zoptic.h (e.g. io/checkpoint) can name the version. */
#ifndef ZPT_CORE_VERSION_H
#define ZPT_CORE_VERSION_H

#define ZOPTIC_VERSION "0.1.0"

#endif
