/* libFuzzer target: a store file (DIR/nnlimits.sqlite) through the readers — open and verify,
   status, and the CSV export of every table — as `nnlimits status|export|merge` meet a damaged,
   foreign or hostile file. Any crash, sanitizer report or leak is a bug; an error return is the
   expected outcome for most inputs. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fuzz.h"
#include "nnlimits/store.h"

static char  dir[64], file[128];
static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  if (FuzzInit(argc, argv)) return 1;
  snprintf(dir, sizeof(dir), "/tmp/nnl-fuzz-store-%d", (int)getpid());
  snprintf(file, sizeof(file), "%s/%s", dir, NNL_STORE_FILE);
  mkdir(dir, 0777);
  devnull = fopen("/dev/null", "w");
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const char *const tables[] = {"gram",    "points",   "stats", "limits",        "compare",
                                       "spectra", "spectrum", "sde",   "fokker_planck", "laws"};
  NNLStore                 st       = NULL;
  FILE                    *f        = fopen(file, "wb");

  if (!f) return 0;
  fwrite(data, 1, size, f);
  fclose(f);
  if (!NNLStoreOpenRead(dir, &st)) {
    NNLStoreStatus(st, dir, devnull);
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
      NNLStoreExport(st, tables[t], devnull);
  }
  NNLStoreClose(&st);
  unlink(file);
  return 0;
}
