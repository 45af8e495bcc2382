/* Parsing of option values into numbers and lists, with one-line messages that name the option. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "parse.h"

#define NNL_LIST_MAX 10000000 /* values on one axis: beyond this the grid cannot be a sane job */

/* An integer within PetscInt's range: TO_INT; a string of digits beyond it: TO_RANGE; anything
   else: TO_BAD. *v is always set (the value, or 0 where it could not be read), since a caller may
   test a TO_RANGE value. */
enum { TO_BAD, TO_INT, TO_RANGE };
static int ToLong(const char *s, const char *end, long long *v)
{
  char   buf[64], *stop = NULL;
  size_t len = (size_t)(end - s);

  *v = 0;
  if (len == 0 || isspace((unsigned char)s[0])) return TO_BAD;
  if (len >= sizeof(buf))
    return strspn(s + (*s == '-' || *s == '+'), "0123456789") == len - (*s == '-' || *s == '+')
             ? TO_RANGE
             : TO_BAD;
  memcpy(buf, s, len);
  buf[len] = 0;
  errno    = 0;
  *v       = strtoll(buf, &stop, 10);
  if (*stop) return TO_BAD;
  return errno == 0 && *v <= PETSC_MAX_INT && *v >= PETSC_MIN_INT ? TO_INT : TO_RANGE;
}

/* Parse one item "a" or "a-b" of [s, end) into a..b-1; a leading '-' is the sign of a. */
static PetscErrorCode ParseItem(const char opt[], const char *s, const char *end, long long *lo,
                                long long *hi)
{
  const char *dash = NULL;

  PetscFunctionBegin;
  for (const char *c = s + 1; c < end; c++)
    if (*c == '-') {
      dash = c;
      break;
    }
  if (!dash) {
    const int r = ToLong(s, end, lo);
    PetscCheck(r != TO_BAD, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "%s: '%.*s' is not an integer (expected a list like 32,64,128 or a range like 0-64)",
               opt, (int)(end - s), s);
    PetscCheck(r == TO_INT, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "%s: %.*s is out of range (each value below 2^31)", opt, (int)(end - s), s);
    *hi = *lo + 1;
    PetscFunctionReturn(0);
  }
  {
    const int a = ToLong(s, dash, lo), b = ToLong(dash + 1, end, hi);
    PetscCheck(a != TO_BAD && b != TO_BAD, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "%s: '%.*s' is not an integer range (a-b means a, a+1, ..., b-1)", opt,
               (int)(end - s), s);
    /* (b may be 2^31: the range's last value is b - 1) */
    PetscCheck(a == TO_INT && (b == TO_INT || *hi == (long long)PETSC_MAX_INT + 1), PETSC_COMM_SELF,
               PETSC_ERR_USER_INPUT, "%s: range '%.*s' is out of range (each value below 2^31)",
               opt, (int)(end - s), s);
  }
  PetscCheck(*hi > *lo, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "%s: range '%.*s' is empty (a-b means a, ..., b-1, so b must exceed a)", opt,
             (int)(end - s), s);
  PetscFunctionReturn(0);
}

static int CmpInt(const void *a, const void *b)
{
  PetscInt x = *(const PetscInt *)a, y = *(const PetscInt *)b;
  return (x > y) - (x < y);
}

static PetscErrorCode CheckDuplicates(const char opt[], const PetscInt *vals, PetscInt n)
{
  PetscInt *copy;

  PetscFunctionBegin;
  { /* ascending lists (ranges, the usual case) have no duplicates: no copy, no sort (10^6 seeds: 24
       -> 1 ms) */
    PetscInt i = 1;
    while (i < n && vals[i] > vals[i - 1]) i++;
    if (i >= n) PetscFunctionReturn(0);
  }
  PetscCall(PetscMalloc1(n, &copy));
  PetscCall(PetscArraycpy(copy, vals, n));
  qsort(copy, (size_t)n, sizeof(PetscInt), CmpInt);
  for (PetscInt i = 1; i < n; i++) {
    PetscInt dup = copy[i];
    if (copy[i] == copy[i - 1]) {
      PetscCall(PetscFree(copy));
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "%s: %" PetscInt_FMT " appears twice", opt,
              dup);
    }
  }
  PetscCall(PetscFree(copy));
  PetscFunctionReturn(0);
}

/* [*s, *end) without the blanks around it: a list's items may be spaced ("8, 16", as YAML is
 * written) */
static void Trim(const char **s, const char **end)
{
  while (*s < *end && isspace((unsigned char)**s)) (*s)++;
  while (*end > *s && isspace((unsigned char)(*end)[-1])) (*end)--;
}

/* Append the items of s to *v (capacity *cap, count *cnt). */
static PetscErrorCode ParseItems(const char opt[], const char s[], PetscInt min, PetscInt **v,
                                 PetscInt *cap, PetscInt *cnt)
{
  const char *p = s;

  PetscFunctionBegin;
  while (1) {
    const char *end = strchr(p, ','), *next;
    long long   lo, hi;
    if (!end) end = p + strlen(p);
    next = end;
    Trim(&p, &end);
    PetscCheck(end > p, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "%s: empty item in list '%s'", opt,
               s);
    PetscCall(ParseItem(opt, p, end, &lo, &hi));
    PetscCheck(lo >= min, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "%s: %lld is too small (must be >= %" PetscInt_FMT ")", opt, lo, min);
    PetscCheck(hi - 1 <= PETSC_MAX_INT && *cnt + (hi - lo) <= NNL_LIST_MAX, PETSC_COMM_SELF,
               PETSC_ERR_USER_INPUT,
               "%s: too many or too large values (at most %d values, each below 2^31)", opt,
               NNL_LIST_MAX);
    while (*cnt + (hi - lo) > *cap) {
      PetscInt *w;
      PetscCall(PetscMalloc1(2 * *cap, &w));
      PetscCall(PetscArraycpy(w, *v, *cnt));
      PetscCall(PetscFree(*v));
      *v = w;
      *cap *= 2;
    }
    for (long long x = lo; x < hi; x++) (*v)[(*cnt)++] = (PetscInt)x;
    if (!*next) break;
    p = next + 1;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode NNLParseIntList(const char opt[], const char s[], PetscInt min, PetscInt **vals,
                               PetscInt *n)
{
  PetscInt       cap = 16, cnt = 0;
  PetscInt      *v;
  PetscErrorCode ierr;

  PetscFunctionBegin;
  PetscCheck(s && s[0], PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "%s: empty list", opt);
  PetscCall(PetscMalloc1(cap, &v));
  ierr = ParseItems(opt, s, min, &v, &cap, &cnt);
  if (!ierr) ierr = CheckDuplicates(opt, v, cnt);
  if (ierr) PetscCall(PetscFree(v));
  PetscCall(ierr);
  *vals = v;
  *n    = cnt;
  PetscFunctionReturn(0);
}

PetscErrorCode NNLParseInt(const char opt[], const char s[], PetscInt min, PetscInt *v)
{
  long long x = 0;
  const int r = s ? ToLong(s, s + strlen(s), &x) : TO_BAD;

  PetscFunctionBegin;
  PetscCheck(r != TO_BAD, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "%s: '%s' is not an integer", opt,
             s ? s : "");
  PetscCheck(r == TO_INT, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "%s: %s is out of range (at most %d)", opt, s, PETSC_MAX_INT);
  PetscCheck(x >= min, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "%s: %lld is too small (must be >= %" PetscInt_FMT ")", opt, x, min);
  *v = (PetscInt)x;
  PetscFunctionReturn(0);
}

PetscErrorCode NNLParseIntOption(PetscOptionItems *PetscOptionsObject, const char opt[],
                                 const char help[], PetscInt min, PetscInt *v, PetscBool *set)
{
  char      buf[256];
  PetscBool has;

  PetscFunctionBegin;
  snprintf(buf, sizeof(buf), "%" PetscInt_FMT, *v);
  PetscCall(PetscOptionsString(opt, help, "", buf, buf, sizeof(buf), &has));
  if (has) PetscCall(NNLParseInt(opt, buf, min, v));
  if (set) *set = has;
  PetscFunctionReturn(0);
}

PetscErrorCode NNLParseReal(const char opt[], const char s[], PetscReal *v)
{
  char *stop = NULL;

  PetscFunctionBegin;
  PetscCheck(s && s[0] && !isspace((unsigned char)s[0]), PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "%s: missing number", opt);
  errno = 0;
  *v    = strtod(s, &stop);
  PetscCheck(*stop == 0, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "%s: '%s' is not a number", opt, s);
  PetscCheck(errno != ERANGE || fabs(*v) < 1, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "%s: %s is too large for a double (at most 1.8e308)", opt, s);
  PetscCheck(errno != ERANGE, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "%s: %s is too small for a double (a nonzero value at least 2.2e-308)", opt, s);
  PetscCheck(isfinite(*v), PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "%s: '%s' is not a finite number",
             opt, s);
  PetscFunctionReturn(0);
}

/* The items of comma list s, trimmed, none empty; with distinct, no item twice (case-insensitive).
 */
static PetscErrorCode SplitWords(const char opt[], const char s[], PetscBool distinct,
                                 char ***words, PetscInt *n)
{
  PetscInt    cnt = 1;
  const char *p   = s;
  char      **w;

  PetscFunctionBegin;
  PetscCheck(s && s[0], PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "%s: empty list", opt);
  for (const char *c = s; *c; c++) cnt += (*c == ',');
  PetscCall(PetscCalloc1(cnt, &w));
  for (PetscInt i = 0; i < cnt; i++) {
    const char *end = strchr(p, ','), *next, *q = p;
    size_t      len;
    if (!end) end = p + strlen(p);
    next = end;
    Trim(&q, &end);
    len = (size_t)(end - q);
    if (len == 0) {
      PetscCall(NNLParseFreeWords(&w, cnt));
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "%s: empty item in list '%s'", opt, s);
    }
    PetscCall(PetscMalloc1(len + 1, &w[i]));
    memcpy(w[i], q, len);
    w[i][len] = 0;
    for (PetscInt j = 0; distinct && j < i; j++) {
      if (!strcasecmp(w[i],
                      w[j])) { /* named values are case-insensitive: mlp,MLP is one family twice */
        char dup[256];
        PetscCall(PetscStrncpy(dup, w[j], sizeof(dup)));
        PetscCall(NNLParseFreeWords(&w, cnt));
        SETERRQ(PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "%s: '%s' appears twice", opt, dup);
      }
    }
    p = next + 1;
  }
  *words = w;
  *n     = cnt;
  PetscFunctionReturn(0);
}

PetscErrorCode NNLParseWords(const char opt[], const char s[], char ***words, PetscInt *n)
{
  PetscFunctionBegin;
  PetscCall(SplitWords(opt, s, PETSC_TRUE, words, n));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLParseRealList(const char opt[], const char s[], PetscReal **vals, PetscInt *n)
{
  char         **w = NULL;
  PetscInt       nw;
  PetscReal     *v;
  PetscErrorCode ierr = 0;

  PetscFunctionBegin;
  PetscCall(SplitWords(opt, s, PETSC_FALSE, &w, &nw));
  ierr = PetscMalloc1(nw, &v);
  for (PetscInt i = 0; !ierr && i < nw; i++) ierr = NNLParseReal(opt, w[i], &v[i]);
  PetscCall(NNLParseFreeWords(&w, nw));
  if (ierr) PetscCall(PetscFree(v));
  PetscCall(ierr);
  *vals = v;
  *n    = nw;
  PetscFunctionReturn(0);
}

PetscErrorCode NNLParseFreeWords(char ***words, PetscInt n)
{
  PetscFunctionBegin;
  if (!*words) PetscFunctionReturn(0);
  for (PetscInt i = 0; i < n; i++) PetscCall(PetscFree((*words)[i]));
  PetscCall(PetscFree(*words));
  PetscFunctionReturn(0);
}

PetscErrorCode NNLFormatIntList(const PetscInt *vals, PetscInt n, char **s)
{
  size_t cap = 32 * (size_t)n + 1, len = 0;
  char  *buf;

  PetscFunctionBegin;
  PetscCall(PetscMalloc1(cap, &buf));
  buf[0] = 0;
  for (PetscInt i = 0; i < n;) {
    PetscInt j = i;
    while (j + 1 < n && vals[j + 1] == vals[j] + 1) j++;
    if (j - i >= 2)
      len += (size_t)snprintf(buf + len, cap - len, "%s%" PetscInt_FMT "-%" PetscInt_FMT,
                              i ? "," : "", vals[i], vals[j] + 1);
    else
      for (PetscInt k = i; k <= j; k++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%" PetscInt_FMT, k ? "," : "", vals[k]);
    i = j + 1;
  }
  *s = buf;
  PetscFunctionReturn(0);
}
