/* The complex types of the public API.
 *
 * In C they are C99's float _Complex / double _Complex.  In C++ (where
 * `float complex` does not exist) they are std::complex<float> /
 * std::complex<double>, which the C++ standard makes layout-compatible with
 * an array of two reals (re, im) — the layout of the C types — so arrays of
 * them pass between C and C++ by pointer unchanged.
 */
#ifndef ZPT_COMPLEX_H
#define ZPT_COMPLEX_H

#ifdef __cplusplus
#include <complex>
typedef std::complex<float> zpt_cfloat;
typedef std::complex<double> zpt_cdouble;
#else
#include <complex.h>
typedef float _Complex zpt_cfloat;
typedef double _Complex zpt_cdouble;
#endif

#endif
