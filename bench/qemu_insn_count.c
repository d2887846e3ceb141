// qemu_insn_count.c: a qemu-user TCG plugin that counts the guest instructions executed: in all,
// in the functions whose symbol contains one of the given texts, and among those the ones of one
// mnemonic (fmla: NEON's fused multiply-add). For the NEON kernels' instruction counts under
// qemu-aarch64 (scripts/count-arm64-instructions.sh, docs/PERFORMANCE.md). Counts, not times: qemu
// translates every instruction, so nothing here says how fast a real core runs them.
//
// Debian ships qemu-user with plugin support but neither the plugins nor qemu-plugin.h, so the
// few calls used are declared here, as in qemu 7.2's API version 1. Build and use:
//   gcc -O2 -shared -fPIC -o build-arm64/qemu_insn_count.so bench/qemu_insn_count.c
//   qemu-aarch64 -d plugin -plugin build-arm64/qemu_insn_count.so,match=NeonTile,mnemonic=fmla PROGRAM ARGS
// (match= up to 4 times: any of them). At exit it prints (to stderr; -d plugin lets it out)
// "instructions: T total, M in symbols containing 'NeonTile', F of them fmla".
// A translation block is counted whole under the symbol of its first instruction (blocks end at
// branches, so they stay within one function). Symbols come from the program's own ELF, not its
// shared libraries, so the program must not be stripped. Run it on one thread: the counters are
// not atomic.
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb* tb);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void* userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb* tb);
struct qemu_plugin_insn* qemu_plugin_tb_get_insn(const struct qemu_plugin_tb* tb, size_t idx);
const char* qemu_plugin_insn_symbol(const struct qemu_plugin_insn* insn);
char* qemu_plugin_insn_disas(const struct qemu_plugin_insn* insn);  // malloc'd
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb* tb, enum qemu_plugin_op op, void* ptr,
                                              uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn* insn, enum qemu_plugin_op op, void* ptr,
                                                uint64_t imm);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void* userdata);
void qemu_plugin_outs(const char* string);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

static uint64_t total, matched, of_mnemonic;
enum { kMaxMatches = 4 };
static char matches[kMaxMatches][128], mnemonic[32];
static int n_matches;

static int symbol_matches(const char* symbol) {
  for (int i = 0; symbol && i < n_matches; ++i)
    if (strstr(symbol, matches[i])) return 1;
  return 0;
}

static void on_translation(qemu_plugin_id_t id, struct qemu_plugin_tb* tb) {
  (void)id;
  const size_t n = qemu_plugin_tb_n_insns(tb);
  if (n == 0) return;
  qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &total, n);
  const char* symbol = qemu_plugin_insn_symbol(qemu_plugin_tb_get_insn(tb, 0));
  if (!symbol_matches(symbol)) return;
  qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &matched, n);
  if (!mnemonic[0]) return;
  const size_t length = strlen(mnemonic);
  for (size_t i = 0; i < n; ++i) {
    struct qemu_plugin_insn* insn = qemu_plugin_tb_get_insn(tb, i);
    char* text = qemu_plugin_insn_disas(insn);  // "fmla v0.4s, v1.4s, v2.s[0]"
    if (text && strncmp(text, mnemonic, length) == 0 && (text[length] == ' ' || text[length] == '\0'))
      qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &of_mnemonic, 1);
    free(text);
  }
}

static void on_exit_(qemu_plugin_id_t id, void* userdata) {
  (void)id;
  (void)userdata;
  char line[1024], names[600] = "";
  for (int i = 0; i < n_matches; ++i) {
    strncat(names, i ? "' or '" : "'", sizeof names - strlen(names) - 1);
    strncat(names, matches[i], sizeof names - strlen(names) - 1);
  }
  strncat(names, "'", sizeof names - strlen(names) - 1);
  snprintf(line, sizeof line,
           "instructions: %" PRIu64 " total, %" PRIu64 " in symbols containing %s, %" PRIu64 " of them %s\n", total,
           matched, n_matches ? names : "(none asked)", of_mnemonic, mnemonic[0] ? mnemonic : "(no mnemonic asked)");
  qemu_plugin_outs(line);
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const void* info, int argc,
                                                               char** argv) {
  (void)info;
  for (int i = 0; i < argc; ++i)
    if (strncmp(argv[i], "match=", 6) == 0 && n_matches < kMaxMatches)
      snprintf(matches[n_matches++], sizeof matches[0], "%s", argv[i] + 6);
    else if (strncmp(argv[i], "mnemonic=", 9) == 0) snprintf(mnemonic, sizeof mnemonic, "%s", argv[i] + 9);
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_translation);
  qemu_plugin_register_atexit_cb(id, on_exit_, NULL);
  return 0;
}
