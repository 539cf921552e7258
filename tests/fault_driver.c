/* A chip driver that misbehaves on command, to provoke every client fault.
 *
 * It is compiled into tests/test_hw (that file #includes this one) and runs
 * when the test binary is started as
 *     test_hw --fault-driver MODE linear:IN:OUT:SEED
 * so no extra build rule is needed: the tests spawn /proc/self/exe.
 * It answers like a correct driver except where MODE says otherwise:
 *   ok          no fault
 *   hang-hello  never answers the handshake
 *   version     announces protocol version 99
 *   hang        answers the handshake, then never answers a request
 *   exit        writes half a reply, then exits with status 3
 *   exit-early  exits with status 4 right after the handshake
 *   short       an OUTPUT whose payload is 4 bytes short (framing intact)
 *   magic       a reply with a wrong magic number
 *   nan         an OUTPUT holding a NaN
 *   error       an ERROR reply "laser interlock open"
 *   seq         a reply to the wrong request number
 *   big         a header announcing a 2 GiB payload
 *   garbage     64 bytes of noise instead of a reply
 *   close:N     answers N requests, then exits with status 0
 * A hanging driver gives up after 20 s so a crashed test leaves nothing.
 */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/status.h"
#include "hw/chip_io.h"
#include "hw/chip_proto.h"
#include "hw/chip_server.h"
#include "hw/linear_chip.h"

static void fault_hang(void) {
  sleep(20);
  _exit(9);
}

static int fault_write(uint16_t type, uint32_t seq, const unsigned char *payload,
                       size_t len, uint32_t magic, uint32_t announced) {
  unsigned char *buf = malloc(ZPT_CHIP_HEADER_SIZE + len + 1);
  if (!buf)
    return -1;
  zpt_chip_header_encode(buf, type, seq, announced);
  if (magic != ZPT_CHIP_MAGIC)
    for (int i = 0; i < 4; i++)
      buf[i] = (unsigned char)(magic >> (8 * i));
  if (len)
    memcpy(buf + ZPT_CHIP_HEADER_SIZE, payload, len);
  int rc = zpt_chip_write(1, buf, ZPT_CHIP_HEADER_SIZE + len, -1) == ZPT_IO_OK ? 0 : -1;
  free(buf);
  return rc;
}

static int fault_answer_eval(const char *mode, zpt_blackbox *bb, const zpt_chip_info *info,
                             uint32_t seq, unsigned char *p, size_t len) {
  zpt_variation vars[64];
  zpt_chip_eval ev;
  if (zpt_chip_eval_decode(p, len, info, vars, 64, &ev) != ZPT_OK)
    return -1;
  size_t nf = (size_t)ev.n_vars * ev.batch * bb->output_size, rl;
  zpt_chip_output_size(ev.n_vars, ev.batch, bb->output_size, &rl);
  float *y = calloc(nf + 1, sizeof(float));
  unsigned char *out = calloc(rl + 1, 1);
  if (!y || !out ||
      zpt_blackbox_query(bb, ev.theta, ev.vars, ev.n_vars, ev.inputs, ev.batch, y,
                         ev.first_query) != ZPT_OK) {
    free(y);
    free(out);
    return -1;
  }
  if (!strcmp(mode, "nan"))
    y[nf / 2] = NAN;
  zpt_chip_output_encode(ev.n_vars, ev.batch, y, nf, out);
  int rc = 0;
  if (!strcmp(mode, "exit")) {
    fault_write(ZPT_CHIP_OUTPUT, seq, out, rl / 2, ZPT_CHIP_MAGIC, (uint32_t)rl);
    _exit(3);
  } else if (!strcmp(mode, "short")) {
    rc = fault_write(ZPT_CHIP_OUTPUT, seq, out, rl - 4, ZPT_CHIP_MAGIC, (uint32_t)rl - 4);
  } else if (!strcmp(mode, "magic")) {
    rc = fault_write(ZPT_CHIP_OUTPUT, seq, out, rl, 0xdeadbeefu, (uint32_t)rl);
  } else if (!strcmp(mode, "seq")) {
    rc = fault_write(ZPT_CHIP_OUTPUT, seq + 1, out, rl, ZPT_CHIP_MAGIC, (uint32_t)rl);
  } else if (!strcmp(mode, "big")) {
    rc = fault_write(ZPT_CHIP_OUTPUT, seq, NULL, 0, ZPT_CHIP_MAGIC, 0x80000000u);
  } else if (!strcmp(mode, "garbage")) {
    unsigned char noise[64];
    for (int i = 0; i < 64; i++)
      noise[i] = (unsigned char)(i * 37 + 11);
    rc = zpt_chip_write(1, noise, sizeof noise, -1) == ZPT_IO_OK ? 0 : -1;
  } else if (!strcmp(mode, "error")) {
    const char *msg = "laser interlock open";
    unsigned char eb[64];
    zpt_chip_error_encode(ZPT_EIO, msg, eb);
    rc = fault_write(ZPT_CHIP_ERROR, seq, eb, zpt_chip_error_size(msg), ZPT_CHIP_MAGIC,
                     (uint32_t)zpt_chip_error_size(msg));
  } else {
    rc = fault_write(ZPT_CHIP_OUTPUT, seq, out, rl, ZPT_CHIP_MAGIC, (uint32_t)rl);
  }
  free(y);
  free(out);
  return rc;
}

static int fault_driver_main(int argc, char **argv) {
  if (argc < 4)
    return 2;
  const char *mode = argv[2];
  signal(SIGPIPE, SIG_IGN);
  zpt_blackbox *bb = NULL;
  zpt_chip_server_config cfg = {.name = "fault-driver"};
  zpt_chip_info info;
  if (zpt_linear_chip_from_spec(argv[3], &bb) != ZPT_OK ||
      zpt_chip_server_info(bb, &cfg, &info) != ZPT_OK)
    return 2;
  long close_after = !strncmp(mode, "close:", 6) ? atol(mode + 6) : -1;
  long evals = 0;
  zpt_buffer payload = {0};
  for (;;) {
    unsigned char hb[ZPT_CHIP_HEADER_SIZE];
    zpt_chip_header h;
    size_t got;
    if (zpt_chip_read(0, hb, sizeof hb, -1, &got) != ZPT_IO_OK ||
        zpt_chip_header_decode(hb, &h) != ZPT_OK ||
        zpt_buffer_reserve(&payload, h.length, "payload") != ZPT_OK ||
        zpt_chip_read(0, payload.data, h.length, -1, &got) != ZPT_IO_OK)
      break;
    if (h.type == ZPT_CHIP_HELLO) {
      if (!strcmp(mode, "hang-hello"))
        fault_hang();
      zpt_chip_info sent = info;
      if (!strcmp(mode, "version"))
        sent.version = 99;
      unsigned char ib[ZPT_CHIP_INFO_FIXED + ZPT_CHIP_MAX_NAME];
      zpt_chip_info_encode(&sent, ib);
      size_t il = zpt_chip_info_size(&sent);
      if (fault_write(ZPT_CHIP_INFO, h.seq, ib, il, ZPT_CHIP_MAGIC, (uint32_t)il) < 0)
        break;
      if (!strcmp(mode, "exit-early"))
        _exit(4);
      continue;
    }
    evals++;
    if (close_after >= 0 && evals > close_after)
      break;
    if (!strcmp(mode, "hang"))
      fault_hang();
    if (fault_answer_eval(mode, bb, &info, h.seq, payload.data, h.length) < 0)
      break;
  }
  zpt_buffer_release(&payload);
  zpt_blackbox_free(bb);
  return 0;
}
