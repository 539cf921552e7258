/* Little-endian integers in byte buffers: the chip protocol's frames
 * (hw/chip_proto.c) and the checkpoint's trailer and object map
 * (io/ckpt_file.c, io/ckpt_map.c) share these, whatever the host's order. */
#ifndef ZPT_CORE_LE_H
#define ZPT_CORE_LE_H

#include <stdint.h>

static inline void zpt_put_u16(unsigned char *p, uint16_t v) {
  p[0] = (unsigned char)v;
  p[1] = (unsigned char)(v >> 8);
}
static inline void zpt_put_u32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}
static inline void zpt_put_u64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}
static inline uint16_t zpt_get_u16(const unsigned char *p) {
  return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t zpt_get_u32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t zpt_get_u64(const unsigned char *p) {
  return (uint64_t)zpt_get_u32(p) | (uint64_t)zpt_get_u32(p + 4) << 32;
}

#endif
