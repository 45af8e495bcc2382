/* Job files: read by rank 0 and broadcast, so that a missing or malformed file is one collective
 * error, not a hang. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "options.h"
#include "error.h"

/* PETSc 3.18 reads -options_file inside PetscInitialize, where a failure on rank 0 leaves the other
   ranks waiting in a broadcast forever. So the files are taken out of argv before PetscInitialize
   and inserted here instead. */

static PetscBool IsFileFlag(const char *a)
{
  return (!strcmp(a, "-options_file") || !strcmp(a, "-options_file_yaml")) ? PETSC_TRUE
                                                                           : PETSC_FALSE;
}

int NNLOptionsSplitArgs(int argc, char **argv, char **petsc_argv, char **files)
{
  int n = 0, k = 0;

  for (int i = 0; i < argc; i++) {
    if (i > 0 && IsFileFlag(argv[i]) && i + 1 < argc) {
      files[k++] = argv[i];
      files[k++] = argv[++i];
    } else
      petsc_argv[n++] = argv[i];
  }
  files[k]      = NULL;
  petsc_argv[n] = NULL;
  return n;
}

/* a word PETSc reads as an option's name: '-' and a letter or '-' (-0.5 and -1e-3 are values; "-"
 * alone is a value) */
static int IsOptionName(const char *w)
{
  return w[0] == '-' && (isalpha((unsigned char)w[1]) || w[1] == '-' || w[1] == '_');
}

int NNLOptionsIsValue(const char *w)
{
  char *end;
  if (!IsOptionName(w)) return 1;
  (void)strtod(w, &end); /* -inf, -nan: numbers, not options */
  return end != w && !*end;
}

int NNLOptionsTwice(int argc, char **argv, int first, int *again)
{
  for (int i = first; i < argc; i++) {
    const char *a = argv[i] + 1;
    if (NNLOptionsIsValue(argv[i]) || !strncasecmp(a, "options_file", 12) ||
        !strcasecmp(a, "help") || !strcasecmp(a, "h"))
      continue;
    for (int j = i + 1; j < argc; j++)
      if (!NNLOptionsIsValue(argv[j]) && !strcasecmp(a, argv[j] + 1)) {
        *again = j;
        return i;
      }
  }
  *again = 0;
  return 0;
}

int NNLOptionsStrayWord(int argc, char **argv, int first, int *opt)
{
  int prev = 0; /* the option whose value may come next (0: none) */

  *opt = 0;
  for (int i = first; i < argc; i++) {
    if (IsOptionName(argv[i]))
      prev = i;
    else if (prev && prev == i - 1)
      continue; /* its value */
    else {
      for (*opt = i - 1; *opt >= first && !IsOptionName(argv[*opt]); (*opt)--) {}
      if (*opt < first) *opt = 0;
      return i;
    }
  }
  return 0;
}

static PetscBool IsYAML(const char *flag, const char *file)
{
  const char *dot = strrchr(file, '.');
  return (!strcmp(flag, "-options_file_yaml") ||
          (dot && (!strcmp(dot, ".yaml") || !strcmp(dot, ".yml"))))
           ? PETSC_TRUE
           : PETSC_FALSE;
}

/* A job file missing under the name given: the name with .opts, .yaml or .yml, or under jobs/ (a
   shipped job named without its directory), where one of them exists ("" if none). */
static void MissingHint(const char file[], char hint[], size_t len)
{
  static const char *const dir[] = {"", "jobs/"}, *const ext[] = {"", ".opts", ".yaml", ".yml"};
  char cand[PETSC_MAX_PATH_LEN];

  hint[0] = 0;
  for (int d = 0; d < 2; d++)
    for (int e = 0; e < 4; e++) {
      if ((!d && !e) || (d && strchr(file, '/'))) continue;
      snprintf(cand, sizeof(cand), "%s%s%s", dir[d], file, ext[e]);
      if (!access(cand, R_OK)) {
        snprintf(hint, len, "; did you mean '%s'?", cand);
        return;
      }
    }
}

/* Rank 0 reads the whole file; every rank gets its text (or rank 0's verdict that it cannot be
 * read). */
static PetscErrorCode ReadShared(MPI_Comm comm, const char file[], char **text)
{
  long  len = -1;
  int   rank, err = 0;
  char *buf = NULL, hint[PETSC_MAX_PATH_LEN + 32] = "";

  PetscFunctionBegin;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    FILE *f = fopen(file, "rb");
    if (f && !fseek(f, 0, SEEK_END) && (len = ftell(f)) >= 0 && !fseek(f, 0, SEEK_SET)) {
      buf = malloc((size_t)len + 1);
      if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) len = -1;
    } else
      err = errno;
    if (f) fclose(f);
    if (len < 0 && !err) err = EIO;
  }
  PetscCallMPI(MPI_Bcast(&len, 1, MPI_LONG, 0, comm));
  PetscCallMPI(MPI_Bcast(&err, 1, MPI_INT, 0, comm));
  if (len < 0) {
    free(buf);
    if (rank == 0 && err == ENOENT) MissingHint(file, hint, sizeof(hint));
    PetscCallMPI(MPI_Bcast(hint, (int)sizeof(hint), MPI_CHAR, 0, comm));
    SETERRQ(comm, PETSC_ERR_FILE_OPEN, "-options_file: cannot read '%s' (%s%s)", file,
            strerror(err), hint);
  }
  if (rank == 0 &&
      memchr(buf, 0, (size_t)len)) { /* C strings would silently drop everything after it */
    long at = (long)((char *)memchr(buf, 0, (size_t)len) - buf);
    err     = (int)at + 1;
  }
  if (rank != 0) buf = malloc((size_t)len + 1);
  PetscCheck(buf, PETSC_COMM_SELF, PETSC_ERR_MEM, "-options_file: no memory for '%s'", file);
  PetscCallMPI(MPI_Bcast(&err, 1, MPI_INT, 0, comm));
  if (err) {
    free(buf);
    SETERRQ(comm, PETSC_ERR_USER_INPUT,
            "-options_file: '%s' is not a text file (NUL byte at offset %d)", file, err - 1);
  }
  PetscCallMPI(MPI_Bcast(buf, (int)len, MPI_CHAR, 0, comm));
  buf[len] = 0;
  /* a UTF-8 byte-order mark (some editors write one): invisible, it made the first line
     "'\xef\xbb\xbf-grid_width 8' is not an option" */
  if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3)) memmove(buf, buf + 3, (size_t)len - 2);
  *text = buf;
  PetscFunctionReturn(0);
}

/* PETSc's rule: a key is "-x..." that is not a number; its value is the next word unless that is a
 * key. */
static PetscBool IsKey(const char *a)
{
  return (a[0] == '-' && a[1] && !(a[1] >= '0' && a[1] <= '9') && a[1] != '.') ? PETSC_TRUE
                                                                               : PETSC_FALSE;
}

/* The options one job file sets, with the line of each: a file that sets one twice is an error, in
   either format. PETSc would keep the last silently (and YAML's own rule, unique keys in a mapping,
   is not checked by libyaml): a job edited by appending "grid_seed: 0-1024" would run with
   whichever came last, and its store would not say which. */
typedef struct {
  char name[128];
  int  line;
} SeenKey;
typedef struct {
  SeenKey *k;
  int      n, cap;
} Seen;

/* Records option name[0..len) (case-insensitive, as PETSc compares names) set on line; msg names
   both lines when the file already set it. */
static void SeenAdd(Seen *s, const char file[], const char *name, size_t len, int line, char msg[],
                    size_t msglen)
{
  char key[128];

  snprintf(key, sizeof(key), "%.*s", (int)len, name);
  for (int i = 0; i < s->n; i++) {
    if (strcasecmp(s->k[i].name, key)) continue;
    snprintf(msg, msglen,
             "'%s' sets %s twice, on lines %d and %d (a job file sets each option once; the "
             "command line may override it)",
             file, key, s->k[i].line, line);
    return;
  }
  if (s->n == s->cap) {
    const int cap = 2 * s->cap + 16;
    SeenKey  *k   = realloc(s->k, (size_t)cap * sizeof(*k));
    if (!k) return; /* out of memory: this key is not checked, PETSc's reading goes on */
    s->k   = k;
    s->cap = cap; /* only now: set before, a failed realloc left a capacity the array had not */
  }
  memcpy(s->k[s->n].name, key, sizeof(key));
  s->k[s->n++].line = line;
}

/* Every job file's options and their lines, kept for messages about an option read from one
   (NNLOptionsWhere): an unknown option's error named the option alone, and a job file's misspelling
   sent the user looking for it. Fixed arrays: nothing to free, and a job has a few files of a few
   dozen options (more are not located, only named). */
static char    WhereFile[8][PETSC_MAX_PATH_LEN];
static SeenKey WhereKey[512];
static int     WhereOf[512], nWhereFile, nWhereKey;

static void WhereKeep(const char file[], const Seen *s)
{
  if (nWhereFile == 8) return;
  snprintf(WhereFile[nWhereFile], sizeof(WhereFile[0]), "%s", file);
  for (int i = 0; i < s->n && nWhereKey < 512; i++) {
    WhereKey[nWhereKey]  = s->k[i];
    WhereOf[nWhereKey++] = nWhereFile;
  }
  nWhereFile++;
}

PetscBool NNLOptionsWhere(const char name[], char where[], size_t len)
{
  const char *bare = name[0] == '-' ? name + 1 : name, *env = getenv("PETSC_OPTIONS");
  size_t      nb = strlen(bare);

  for (int i = nWhereKey - 1; i >= 0; i--) /* the last file that sets it: the one PETSc kept */
    if (!strcasecmp(WhereKey[i].name + 1, bare)) {
      snprintf(where, len, "'%s' line %d", WhereFile[WhereOf[i]], WhereKey[i].line);
      return PETSC_TRUE;
    }
  /* a word -NAME of PETSC_OPTIONS: an environment variable set long ago is the one place a user
     does not look (the error named the option alone) */
  for (const char *p = env; p && (p = strchr(p, '-')); p++)
    if ((p == env || isspace((unsigned char)p[-1])) && !strncasecmp(p + 1, bare, nb) &&
        (!p[1 + nb] || isspace((unsigned char)p[1 + nb]))) {
      snprintf(where, len, "PETSC_OPTIONS ('%s')", env);
      return PETSC_TRUE;
    }
  return PETSC_FALSE;
}

#ifdef NNL_HAVE_LIBYAML
  #include <yaml.h>
#endif

/* Where PETSc's YAML reader refused text: libyaml's own parser's line, column and problem (", line
   2, column 11: did not find expected ',' or ']' (while parsing a flow sequence)"), or "" (no
   libyaml, or a file libyaml takes whole, which PETSc refused for its own reasons). */
static void YAMLProblem(const char *text, char *out, size_t len)
{
  out[0] = 0;
#ifdef NNL_HAVE_LIBYAML
  {
    yaml_parser_t p;
    yaml_event_t  e;
    int           done = 0;

    if (!yaml_parser_initialize(&p)) return;
    yaml_parser_set_input_string(&p, (const unsigned char *)text, strlen(text));
    while (!done) {
      if (!yaml_parser_parse(&p, &e)) {
        snprintf(out, len, ", line %zu, column %zu: %s%s%s%s", p.problem_mark.line + 1,
                 p.problem_mark.column + 1, p.problem ? p.problem : "not YAML",
                 p.context ? " (" : "", p.context ? p.context : "", p.context ? ")" : "");
        break;
      }
      done = e.type == YAML_STREAM_END_EVENT;
      yaml_event_delete(&e);
    }
    yaml_parser_delete(&p);
  }
#else
  (void)text;
  (void)len;
#endif
}

#ifdef NNL_HAVE_LIBYAML
/* The options a YAML mapping sets, by PETSc's rules (PetscParseLayerYAML): a key with a scalar or a
   sequence (a comma list) is the option "-<prefix><key>"; a key with a mapping, or a sequence's
   mapping items, nests them under prefix
   "<prefix><key>_"; the merge key "<<" adds its mapping(s) at this level; keys starting "$$" set
   nothing. */
static void YAMLSequenceKeys(const char file[], yaml_document_t *doc, yaml_node_t *seq,
                             const char *prefix, Seen *seen, char msg[], size_t msglen);

static void YAMLMappingKeys(const char file[], yaml_document_t *doc, yaml_node_t *map,
                            const char *prefix, Seen *seen, char msg[], size_t msglen)
{
  for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
       pair < map->data.mapping.pairs.top && !msg[0]; pair++) {
    yaml_node_t *k = yaml_document_get_node(doc, pair->key),
                *v = yaml_document_get_node(doc, pair->value);
    const char *key;
    char        name[128];

    if (!k || !v || k->type != YAML_SCALAR_NODE)
      continue; /* PETSc's reader refuses it, with its message */
    key = (const char *)k->data.scalar.value;
    if (!strcmp(key, "<<")) {
      if (v->type == YAML_MAPPING_NODE)
        YAMLMappingKeys(file, doc, v, prefix, seen, msg, msglen);
      else
        YAMLSequenceKeys(file, doc, v, prefix, seen, msg, msglen);
      continue;
    }
    if (!strncmp(key, "$$", 2)) continue;
    if (v->type == YAML_MAPPING_NODE) {
      snprintf(name, sizeof(name), "%s%s_", prefix, key);
      YAMLMappingKeys(file, doc, v, name, seen, msg, msglen);
      continue;
    }
    snprintf(name, sizeof(name), "-%s%s", prefix, key);
    SeenAdd(seen, file, name, strlen(name), (int)k->start_mark.line + 1, msg, msglen);
    snprintf(name, sizeof(name), "%s%s_", prefix, key);
    YAMLSequenceKeys(file, doc, v, name, seen, msg, msglen);
  }
}

/* The mapping items of sequence seq (nothing for another node), each under prefix */
static void YAMLSequenceKeys(const char file[], yaml_document_t *doc, yaml_node_t *seq,
                             const char *prefix, Seen *seen, char msg[], size_t msglen)
{
  if (seq->type != YAML_SEQUENCE_NODE) return;
  for (yaml_node_item_t *it = seq->data.sequence.items.start;
       it < seq->data.sequence.items.top && !msg[0]; it++) {
    yaml_node_t *m = yaml_document_get_node(doc, *it);
    if (m && m->type == YAML_MAPPING_NODE) YAMLMappingKeys(file, doc, m, prefix, seen, msg, msglen);
  }
}
#endif

/* The keys of a YAML job file, as the options they become, in block and flow style alike ("grid:
   {width: 8}" is -grid_width, and sets it as "grid_width: 8" would). Without libyaml, line-based: a
   key is a name followed by ':' and a space or the line's end, and its parent the nearest line
   above with less indentation (block style only). A text libyaml cannot load is left to PETSc's
   reader, which refuses it. */
static void YAMLKeys(const char file[], const char *text, Seen *seen, char msg[], size_t msglen)
{
#ifdef NNL_HAVE_LIBYAML
  yaml_parser_t   p;
  yaml_document_t doc;

  if (!yaml_parser_initialize(&p)) return;
  yaml_parser_set_input_string(&p, (const unsigned char *)text, strlen(text));
  while (!msg[0] &&
         yaml_parser_load(&p, &doc)) { /* each document of the stream, as PETSc reads them */
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    int          last = !root;
    if (root && root->type == YAML_MAPPING_NODE)
      YAMLMappingKeys(file, &doc, root, "", seen, msg, msglen);
    yaml_document_delete(&doc);
    if (last) break;
  }
  yaml_parser_delete(&p);
#else
  struct {
    size_t indent, len;
  } stack[16];
  char path[128] = "-";
  int  depth = 0, lineno = 0;

  for (const char *line = text; *line && !msg[0];) {
    const char *end = strchr(line, '\n'), *p;
    size_t      ll = end ? (size_t)(end - line) : strlen(line), indent = strspn(line, " "), k = 0;

    lineno++;
    p = line + indent;
    if (indent < ll && (isalnum((unsigned char)p[0]) || p[0] == '_')) {
      while (indent + k < ll &&
             (isalnum((unsigned char)p[k]) || p[k] == '_' || p[k] == '-' || p[k] == '.'))
        k++;
    }
    if (k && indent + k < ll && p[k] == ':' &&
        (indent + k + 1 == ll || p[k + 1] == ' ' || p[k + 1] == '\t' || p[k + 1] == '\r')) {
      size_t at;
      while (depth && stack[depth - 1].indent >= indent) depth--;
      at = depth ? stack[depth - 1].len : 1;
      snprintf(path + at, sizeof(path) - at, "%s%.*s", depth ? "_" : "", (int)k, p);
      SeenAdd(seen, file, path, strlen(path), lineno, msg, msglen);
      if (depth < 16) {
        stack[depth].indent = indent;
        stack[depth++].len  = strlen(path);
      }
    }
    line = end ? end + 1 : line + ll;
  }
#endif
}

/* A plain options file: "-key value" lines, '#' starts a comment. PETSc's own reader would skip a
   line that does not start with a key (a YAML file under another name: the whole job silently the
   default one), keep a CRLF file's '\r' in the last value, and follow -options_file inside the file
   (into itself: a stack overflow). So each line is checked here first; msg says what is wrong
   (every rank reads the same text: the same verdict). */
static PetscErrorCode InsertPlain(const char file[], char *text, char msg[], size_t len)
{
  int            lineno = 0;
  Seen           seen   = {NULL, 0, 0};
  PetscErrorCode ierr   = 0;

  PetscFunctionBegin;
  msg[0] = 0;
  for (char *line = text; line && *line;) {
    char *next = strchr(line, '\n'), *hash, *p;
    if (next) *next++ = 0;
    lineno++;
    if ((hash = strchr(line, '#'))) *hash = 0;
    for (p = line; *p; p++)
      if (*p == '\r' || *p == '\t') *p = ' ';
    p = line + strspn(line, " ");
    if (*p && !IsKey(p)) {
      snprintf(msg, len,
               "'%s' line %d: '%.40s' is not an option (a plain job file holds '-key value' lines; "
               "a YAML one needs a name ending in .yaml)",
               file, lineno, p);
      break;
    }
    for (char *w = p, *key = NULL, *prev = NULL; *w;
         prev = w, w += strcspn(w, " "), w += strspn(w, " ")) {
      size_t n = strcspn(w, " ");
      if ((n == 13 && !strncmp(w, "-options_file", n)) ||
          (n == 18 && !strncmp(w, "-options_file_yaml", n))) {
        snprintf(
          msg, len,
          "'%s' line %d: a job file cannot name another (give each with its own -options_file)",
          file, lineno);
        break;
      }
      if (IsKey(w))
        SeenAdd(&seen, file, w, n, lineno, msg, len), key = w;
      else if (prev != key) /* a second word after a key's value: PETSc drops it (-grid_width 16 32
                               ran width 16 alone) */
        snprintf(msg, len,
                 "'%s' line %d: unexpected word '%.*s' after %.*s: an option takes one word (a "
                 "list is one word, "
                 "comma-separated: -grid_width 32,64)",
                 file, lineno, (int)PetscMin(n, 40), w,
                 (int)PetscMin(prev + strcspn(prev, " ") - key, 80), key);
      if (msg[0]) break;
    }
    if (msg[0]) break;
    ierr = PetscOptionsInsertString(NULL, line);
    if (ierr) break;
    line = next;
  }
  WhereKeep(file, &seen);
  free(seen.k); /* also when PETSc refused a line (found by tests/fuzz: regression
                   plain_seen_keys_error_path) */
  PetscCall(ierr);
  PetscFunctionReturn(0);
}

/* An option that two job files set takes the later file's value, as PETSc keeps the last: a
   warning names both (it was silent, and a second job file overrode the first's width with no
   word), as for an option given twice on the command line; none where the command line sets it
   too, which wins over both. Collective (rank 0 prints). */
static PetscErrorCode FilesTwice(MPI_Comm comm, int argc, char **argv)
{
  PetscFunctionBegin;
  for (int j = 0; j < nWhereKey; j++) {
    const char *name = WhereKey[j].name, *value = NULL;
    int         i = 0, skip = 0;
    PetscBool   set = PETSC_FALSE;

    while (i < j && (WhereOf[i] == WhereOf[j] || strcasecmp(WhereKey[i].name, name))) i++;
    if (i == j) continue;                            /* no earlier file sets it */
    for (int k = j + 1; k < nWhereKey && !skip; k++) /* a later file sets it too: warn there */
      skip = !strcasecmp(WhereKey[k].name, name);
    for (int k = 1; k < argc && !skip; k++) skip = IsKey(argv[k]) && !strcasecmp(argv[k], name);
    if (skip) continue;
    PetscCall(PetscOptionsFindPair(NULL, NULL, name, &value, &set));
    PetscCall(PetscFPrintf(comm, stderr,
                           "nnlimits: warning: %s is set by '%s' line %d and by '%s' line %d: the "
                           "later, '%s', is taken\n",
                           WhereKey[i].name, WhereFile[WhereOf[i]], WhereKey[i].line,
                           WhereFile[WhereOf[j]], WhereKey[j].line, set && value ? value : ""));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode NNLOptionsInsertFiles(MPI_Comm comm, char **files, int argc, char **argv)
{
  PetscBool any = PETSC_FALSE, had;

  PetscFunctionBegin;
  PetscCall(
    PetscOptionsHasName(NULL, NULL, "-options_file", &had)); /* PETSC_OPTIONS may name one */
  for (int i = 0; files[i]; i += 2) {
    char          *text = NULL, msg[512] = "", where[256] = "";
    PetscErrorCode ierr;
    PetscBool      nested;
    PetscCall(ReadShared(comm, files[i + 1], &text));
    NNLErrorSetQuiet(
      PETSC_TRUE); /* the parser's own traceback is noise: the message below says it all */
    if (IsYAML(files[i], files[i + 1])) {
      Seen seen = {NULL, 0, 0};
      YAMLKeys(files[i + 1], text, &seen, msg, sizeof(msg));
      WhereKeep(files[i + 1], &seen);
      free(seen.k);
      ierr = msg[0] ? 0 : PetscOptionsInsertStringYAML(NULL, text);
      if (ierr) YAMLProblem(text, where, sizeof(where));
    } else
      ierr = InsertPlain(files[i + 1], text, msg, sizeof(msg));
    NNLErrorSetQuiet(PETSC_FALSE);
    free(text);
    PetscCheck(!msg[0], comm, PETSC_ERR_USER_INPUT, "-options_file: %s", msg);
    PetscCheck(!ierr, comm, PETSC_ERR_USER_INPUT,
               "-options_file: '%s' is not a valid %s options file%s", files[i + 1],
               IsYAML(files[i], files[i + 1]) ? "YAML" : "PETSc", where);
    PetscCall(PetscOptionsHasName(NULL, NULL, "-options_file", &nested));
    PetscCheck(had || !nested, comm, PETSC_ERR_USER_INPUT,
               "-options_file: '%s' names another job file (give each with its own -options_file)",
               files[i + 1]);
    any = PETSC_TRUE;
  }
  if (!any) PetscFunctionReturn(0);
  PetscCall(FilesTwice(comm, argc, argv));
  /* The command line wins over job files, whatever the order on the line. */
  for (int i = 1; i < argc; i++) {
    if (!IsKey(argv[i])) continue;
    PetscCall(PetscOptionsSetValue(NULL, argv[i],
                                   (i + 1 < argc && !IsKey(argv[i + 1])) ? argv[i + 1] : NULL));
  }
  /* Remembered (as read) for the default output name results/<job file name>. */
  for (int i = 0; files[i]; i += 2)
    PetscCall(PetscOptionsSetValue(NULL, "-options_file", files[i + 1]));
  PetscFunctionReturn(0);
}
