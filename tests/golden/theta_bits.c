/* Prints the bits of the parameter vector theta of a zoptic checkpoint, one
 * value per line as the hexadecimal of its IEEE-754 float32 bit pattern, so
 * that tests/golden_test.sh can pin a run's final theta exactly.  It reads
 * the dataset /theta with HDF5 directly, independently of the zoptic code
 * it checks.  Usage: theta_bits CHECKPOINT.h5 [DATASET]  (default /theta;
 * e.g. /params/<view> to read a view) */
#include <hdf5.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  const char *name = argc == 3 ? argv[2] : "/theta";
  if (argc != 2 && argc != 3) {
    fprintf(stderr, "usage: theta_bits CHECKPOINT.h5 [DATASET]\n");
    return 2;
  }
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  hid_t f = H5Fopen(argv[1], H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) {
    fprintf(stderr, "theta_bits: %s: cannot open as HDF5\n", argv[1]);
    return 1;
  }
  hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
  if (d < 0) {
    fprintf(stderr, "theta_bits: %s: no dataset %s\n", argv[1], name);
    H5Fclose(f);
    return 1;
  }
  hid_t s = H5Dget_space(d);
  hssize_t n = s >= 0 ? H5Sget_simple_extent_npoints(s) : -1;
  float *v = n > 0 ? malloc((size_t)n * sizeof *v) : NULL;
  int ok = v && H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0;
  if (ok) {
    printf("n %lld\n", (long long)n);
    for (hssize_t i = 0; i < n; i++) {
      uint32_t b;
      memcpy(&b, &v[i], sizeof b);
      printf("%08" PRIx32 "\n", b);
    }
  } else {
    fprintf(stderr, "theta_bits: %s: cannot read %s as float32\n", argv[1], name);
  }
  free(v);
  if (s >= 0) H5Sclose(s);
  H5Dclose(d);
  H5Fclose(f);
  return ok ? 0 : 1;
}
