/* Option validation: every bad value is refused with a message naming the option; good jobs are
 * canonical. */
// ctest-label: unit
#include <string.h>
#include "testutil.h"
#include "error.h"
#include "nnlimits/gauss.h"

/* Each entry: options, and a fragment the error message must contain. */
static const char *const bad[][2] = {
  {"-grid_width 0", "-grid_width"},
  {"-grid_width 32,abc", "'abc' is not an integer"},
  {"-grid_depth -4", "-grid_depth"},
  {"-grid_seed 5-2", "empty"},
  {"-grid_activation relux", "unknown activation"},
  {"-grid_activation relu,relu", "appears twice"},
  {"-grid_seed 0-100,50", "50 appears twice"},         /* ascending, then not: the sorted check */
  {"-grid_width 8,16,32,8", "8 appears twice"},        /* apart in the list */
  {"-grid_seed 0-10,10-20,19-30", "19 appears twice"}, /* ranges that overlap by one */
  {"-family cnn", "unknown family"},
  {"-inputs 0", "-inputs"},
  {"-inputs 4 -input_dim 2", "-input_dim"},
  {"-input_correlation 1.5", "-input_correlation"},
  {"-inputs 3 -input_correlation -0.9", "-input_correlation"},
  {"-inputs 3 -input_correlation 0.1,0.5", "2 values for 3 inputs"}, /* neither one nor m(m-1)/2 */
  {"-inputs 3 -input_correlation 0.9,0.9,-0.9",
   "not positive semidefinite"}, /* each a correlation, together none */
  {"-inputs 3 -input_correlation 0.1,1.5,0.2", "value 2 (1.5) is not a correlation"},
  {"-inputs 3 -input_correlation 0.1,,0.2", "empty item"},
  {"-sigma_w2 -1", "-sigma_w2"},
  {"-sigma_w2 1,1.0", "one value twice"}, /* a swept setting's list: each value once */
  {"-sigma_w2 auto,AUTO", "appears twice"},
  {"-sigma_b2 0,-1", "-sigma_b2: must be >= 0"},
  {"-branch_alpha 0.5,x", "-branch_alpha"},
  {"-sigma_w2 nan", "-sigma_w2"},
  {"-sigma_b2 inf", "-sigma_b2"},
  {"-branch_alpha x", "-branch_alpha"},
  {"-sampler fast", "unknown sampler"},
  {"-record_layers some", "-record_layers"},
  {"-record_layers 0", "-record_layers"},
  {"-shard 4/4", "-shard"},
  {"-shard x", "-shard"},
  {"-mem_budget_mb -5", "-mem_budget_mb"},
};

static char           last[1024];
static PetscErrorCode Record(MPI_Comm c, int l, const char *f, const char *fi, PetscErrorCode n,
                             PetscErrorType p, const char *m, void *ctx)
{
  if (p == PETSC_ERROR_INITIAL) snprintf(last, sizeof(last), "%s", m);
  return n;
}

/* Catches: a bad value accepted silently, an error without the option's name, a non-input error
 * code. */
static void test_bad_values(void **state)
{
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    NNLJob        *job = NULL;
    PetscErrorCode ierr;
    last[0] = 0;
    PetscPushErrorHandler(Record, NULL);
    ierr = TestJob(bad[i][0], &job, NULL);
    PetscPopErrorHandler();
    if (!ierr) fail_msg("accepted: %s", bad[i][0]);
    assert_true(NNLErrorIsInput(ierr));
    if (!strstr(last, bad[i][1]))
      fail_msg("options '%s': message '%s' lacks '%s'", bad[i][0], last, bad[i][1]);
  }
}

/* The same job spelled differently has one canonical text; a different job has another.
   Catches fingerprints that would refuse a resume after a harmless respelling, or accept a changed
   job. */
static void test_canonical_text(void **state)
{
  NNLJob *a, *b, *c;
  assert_int_equal(TestJob("-grid_seed 0-4 -grid_width 8,16 -grid_activation leaky_relu", &a, NULL),
                   0);
  assert_int_equal(
    TestJob(
      "-grid_seed 0,1,2,3 -grid_width 8,16 -grid_activation leaky_relu:0.01 -output elsewhere", &b,
      NULL),
    0);
  assert_int_equal(
    TestJob("-grid_seed 0-4 -grid_width 8,16 -grid_activation leaky_relu -sigma_b2 0.1", &c, NULL),
    0);
  assert_string_equal(a->canonical, b->canonical);
  assert_string_not_equal(a->canonical, c->canonical);
  assert_non_null(strstr(a->canonical, "grid_seed=0-4\n"));
  NNLJobDestroy(&a);
  NNLJobDestroy(&b);
  NNLJobDestroy(&c);
  /* a text past the canonical buffer's first 1024 bytes, which then grows (no other test reached
     it): every width of a 400-value list, in order, and the lines after it */
  {
    char opts[4096] = "-grid_width ", *p = opts + strlen(opts);
    for (int w = 2; w <= 800; w += 2) p += sprintf(p, w > 2 ? ",%d" : "%d", w);
    assert_int_equal(TestJob(opts, &a, NULL), 0);
    assert_true(strlen(a->canonical) > 1600);
    assert_non_null(strstr(a->canonical, "\ngrid_width=2,4,6,8,"));
    assert_non_null(strstr(a->canonical, ",396,398,400,402,"));
    assert_non_null(strstr(a->canonical, ",796,798,800\ngrid_depth="));
    assert_non_null(strstr(a->canonical, "\nrun_seed=0\n"));
    NNLJobDestroy(&a);
  }
  /* the line sigma_w2_auto_erf=… (16 bytes of format besides its key and value) across the
     buffer's first growth at every offset: an erf MLP whose width list grows a byte at a time. The
     text was cut at 1023 bytes when that line ended 1-12 bytes past it, so its later lines
     (sampler, run_seed: what the store's check compares) were lost. */
  for (int k = 150; k < 200; k++)
    for (int d = 1; d <= 5; d++) {
      char opts[4096] = "-family mlp -grid_activation erf -grid_width ", *p = opts + strlen(opts);
      p += sprintf(p, "%d", d == 1 ? 3 : d == 2 ? 30 : d == 3 ? 300 : d == 4 ? 3000 : 30000);
      for (int w = 0; w < k; w++) p += sprintf(p, ",%d", 1000 + 2 * w);
      assert_int_equal(TestJob(opts, &a, NULL), 0);
      if (!strstr(a->canonical, "\nsigma_w2_auto_erf=") || !strstr(a->canonical, "\nsampler=") ||
          !strstr(a->canonical, "\nrun_seed=0\n"))
        fail_msg("%d widths of 4 digits after one of %d: a text of %d bytes, ending '%s'", k, d,
                 (int)strlen(a->canonical), a->canonical + strlen(a->canonical) - 40);
      NNLJobDestroy(&a);
    }
  /* a solver's option at its default, or of a solver the job does not run, is the job without it (a
     resume that wrote out -limit_ts_rtol 1e-12, or gave an MLP job -limit_ts_type rk, was refused);
     another value is another job */
  /* every pair's correlation given alike is the one value (a store's fingerprint before the list);
   * a list is the list */
  {
    const char *same[][2] = {
      {"-inputs 3 -input_correlation 0.3", "-inputs 3 -input_correlation 0.3,0.3,0.30"}};
    assert_int_equal(TestJob(same[0][0], &a, NULL), 0);
    assert_int_equal(TestJob(same[0][1], &b, NULL), 0);
    assert_int_equal(TestJob("-inputs 3 -input_correlation 0.3,0.2,0.3", &c, NULL), 0);
    assert_string_equal(a->canonical, b->canonical);
    assert_non_null(strstr(a->canonical, "\ninput_correlation=0.29999999999999999\n"));
    assert_non_null(
      strstr(c->canonical,
             "\ninput_correlation=0.29999999999999999,0.20000000000000001,0.29999999999999999\n"));
    assert_int_equal(a->input_corr_distinct, 1);
    assert_int_equal(c->input_corr_distinct, 2);
    /* pairs in (0,1), (0,2), (1,2) order, either way round, and 1 on the diagonal */
    assert_true(NNLJobInputCorrelation(c, 0, 2) == 0.2 && NNLJobInputCorrelation(c, 2, 0) == 0.2);
    assert_true(NNLJobInputCorrelation(c, 1, 2) == 0.3 && NNLJobInputCorrelation(c, 1, 1) == 1.0);
    NNLJobDestroy(&a);
    NNLJobDestroy(&b);
    NNLJobDestroy(&c);
  }
  {
    const char *same[][2] = {
      {"-family resnet", "-family resnet -limit_ts_type rk -limit_ts_rk_type 5dp -limit_ts_rtol "
                         "1.0e-12 -limit_ts_atol 1e-12"},
      {"-family mlp",
       "-family mlp -limit_ts_rtol 1e-6 -limit_goursat_cells 64 -limit_fp_ts_dt 1e-2"},
      {"-family controlled_resnet", "-family controlled_resnet -limit_goursat_cells 256"},
      {"-family shaped_mlp", "-family shaped_mlp -limit_fp_ts_dt 1e-2"}};
    const char *other[][2] = {
      {"-family resnet", "-family resnet -limit_ts_rtol 1e-9"},
      {"-family controlled_resnet", "-family controlled_resnet -limit_goursat_cells 64"},
      {"-family shaped_mlp -sde_paths 10",
       "-family shaped_mlp -sde_paths 10 -limit_fp_ts_dt 1e-2"}};
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]) + sizeof(other) / sizeof(other[0]); i++) {
      const PetscBool    eq   = i < sizeof(same) / sizeof(same[0]) ? PETSC_TRUE : PETSC_FALSE;
      const char *const *pair = eq ? same[i] : other[i - sizeof(same) / sizeof(same[0])];
      assert_int_equal(TestJob(pair[0], &a, NULL), 0);
      assert_int_equal(TestJob(pair[1], &b, NULL), 0);
      if (eq)
        assert_string_equal(a->canonical, b->canonical);
      else
        assert_string_not_equal(a->canonical, b->canonical);
      NNLJobDestroy(&a);
      NNLJobDestroy(&b);
    }
  }
}

/* Swept -sigma_w2, -sigma_b2, -branch_alpha: each activation once per setting (σ_w² slowest), the
   entry's canon its activation's and the swept values, its values those of its setting; the job's
   text lists them, and the activations as given. A family has cells only for entries whose settings
   it uses (the ResNet none of σ_w², σ_b²; the MLP not α). Catches: an entry given another setting's
   values, auto not resolved per activation, a sweep of α repeating the MLP's networks, entries'
   names in the job's activation list (which a resume or an extension compares). */
static void test_swept_settings(void **state)
{
  NNLJob  *job;
  NNLGrid *grid;
  PetscInt nets[NNL_FAMILY_COUNT] = {0};

  assert_int_equal(
    TestJob(
      "-family mlp,resnet -grid_activation relu,tanh -grid_width 8 -grid_depth 2 -grid_seed 0-4 "
      "-sigma_w2 auto,1.5 -sigma_b2 0,0.1 -branch_alpha 0.5,1",
      &job, &grid),
    0);
  assert_int_equal(job->nvar, 8);
  assert_int_equal(job->nact, 16);
  assert_int_equal(job->nact_base, 2);
  assert_string_equal(job->act[0].canon, "relu;sigma_w2=auto;sigma_b2=0;branch_alpha=0.5");
  assert_string_equal(job->act[7].canon,
                      "relu;sigma_w2=1.5;sigma_b2=0.10000000000000001;branch_alpha=1");
  assert_string_equal(job->act[9].canon, "tanh;sigma_w2=auto;sigma_b2=0;branch_alpha=1");
  assert_true(NNLJobSigmaW2(job, 0) == 2.0 && NNLJobSigmaW2(job, 8) == 1.0 &&
              NNLJobSigmaW2(job, 5) == 1.5);
  assert_true(NNLJobSigmaB2(job, 2) == 0.1 && NNLJobSigmaB2(job, 4) == 0.0 &&
              NNLJobBranchAlpha(job, 3) == 1.0);
  assert_non_null(strstr(job->canonical, "\ngrid_activation=relu,tanh\n"));
  assert_non_null(strstr(
    job->canonical, "\nsigma_b2=0,0.10000000000000001\nbranch_alpha=0.5,1\nsigma_w2=auto,1.5\n"));
  /* in a family's points, the settings it uses */
  assert_string_equal(NNLJobEntryName(job, NNL_FAMILY_MLP, 7),
                      "relu;sigma_w2=1.5;sigma_b2=0.10000000000000001");
  assert_string_equal(NNLJobEntryName(job, NNL_FAMILY_RESNET, 9), "tanh;branch_alpha=1");
  assert_string_equal(NNLJobEntryName(job, NNL_FAMILY_SHAPED, 9), "tanh");
  assert_true(NNLJobEntryApplies(job, NNL_FAMILY_MLP, 6) &&
              !NNLJobEntryApplies(job, NNL_FAMILY_MLP, 7));
  assert_true(NNLJobEntryApplies(job, NNL_FAMILY_RESNET, 9) &&
              !NNLJobEntryApplies(job, NNL_FAMILY_RESNET, 10));
  for (PetscInt k = 0; k < grid->nnets; k++) nets[grid->points[k].family]++;
  /* MLP: 2 activations × 4 (σ_w², σ_b²) × 4 seeds; ResNet: 2 × 2 α × 4 */
  assert_int_equal(nets[NNL_FAMILY_MLP], 32);
  assert_int_equal(nets[NNL_FAMILY_RESNET], 16);
  assert_int_equal(grid->nlimits, 8 + 4); /* one depth */
  NNLGridDestroy(&grid);
  NNLJobDestroy(&job);
}

/* Swept -attn_tau0, -attn_gamma: entries of the attention families only (γ fastest), their values
   reaching the accessors the networks and SDE tasks read; the job text has a line for each (one
   line for both, as before, while neither is a list). Catches: the attention settings swept for the
   ResNet too, an entry's τ₀ taken from another's, a one-value attention job's text changed (its
   stores would be refused). */
static void test_swept_attention(void **state)
{
  NNLJob  *job;
  NNLGrid *grid;
  PetscInt nets[NNL_FAMILY_COUNT] = {0};

  assert_int_equal(TestJob("-family shaped_attention,resnet -grid_activation linear -inputs 3 "
                           "-grid_width 8 -grid_depth 2 "
                           "-grid_seed 0-4 -attn_tau0 0.5,1,2 -attn_gamma 0.25,0.75",
                           &job, &grid),
                   0);
  assert_int_equal(job->nvar, 6);
  assert_string_equal(job->act[3].canon, "linear;attn_tau0=1;attn_gamma=0.75");
  assert_string_equal(NNLJobEntryName(job, NNL_FAMILY_ATTENTION, 4),
                      "linear;attn_tau0=2;attn_gamma=0.25");
  assert_string_equal(NNLJobEntryName(job, NNL_FAMILY_RESNET, 4), "linear");
  assert_true(NNLJobAttnTau0(job, 4) == 2.0 && NNLJobAttnGamma(job, 4) == 0.25 &&
              NNLJobAttnGamma(job, 5) == 0.75);
  assert_true(NNLJobEntryApplies(job, NNL_FAMILY_ATTENTION, 5) &&
              NNLJobEntryApplies(job, NNL_FAMILY_RESNET, 0) &&
              !NNLJobEntryApplies(job, NNL_FAMILY_RESNET, 1) &&
              !NNLJobEntryApplies(job, NNL_FAMILY_RESNET, 2));
  assert_non_null(
    strstr(job->canonical, "\nattn_tau0=0.5,1,2\nattn_gamma=0.25,0.75\nattn_key_width=0\n"));
  for (PetscInt k = 0; k < grid->nnets; k++) nets[grid->points[k].family]++;
  assert_int_equal(nets[NNL_FAMILY_ATTENTION], 6 * 4);
  assert_int_equal(nets[NNL_FAMILY_RESNET], 4);
  NNLGridDestroy(&grid);
  NNLJobDestroy(&job);
  assert_int_equal(
    TestJob("-family softmax_attention -grid_activation linear -attn_tau0 0.5 -attn_gamma 0.25",
            &job, NULL),
    0);
  assert_int_equal(job->nvar, 1);
  assert_non_null(strstr(job->canonical, "\nattn_tau0,attn_gamma,attn_key_width=0.5,0.25,0\n"));
  assert_null(strstr(job->canonical, "\nattn_tau0="));
  NNLJobDestroy(&job);
}

/* Defaults are the default job; auto σ_w² is critical: 2 for relu, 2/(1+α²) for leaky relu, 1 for
   tanh, π/4 for erf, 1/(ab)² for a·sin(bx) (it was 1 whatever a and b). Critical for the odd ones
   means σ_w² F(q)/q → 1 as q → 0 (F the dual kernel: F(q) ≈ φ'(0)² q), checked on the dual itself.
   Catches: erf at σ_w² = 1 (MATH.md §1 said so), whose ratio is 4/π: the recursion then sits at q*
   = 0.14. */
static void test_defaults(void **state)
{
  NNLJob *job;
  assert_int_equal(TestJob("-family mlp -grid_activation tanh,erf,sin:1:2,sin:3", &job, NULL), 0);
  for (PetscInt a = 0; a < 4; a++) {
    const double q = 1e-6, chi = NNLJobSigmaW2(job, a) * NNLGaussDual(&job->act[a], q, q, q) / q;
    if (fabs(chi - 1) > 1e-5)
      fail_msg("%s: sigma_w2 F(q)/q = %.9f at q = %g, want 1", job->act[a].canon, chi, q);
  }
  assert_true(fabs(NNLJobSigmaW2(job, 1) - M_PI / 4) < 1e-15);
  assert_non_null(
    strstr(job->canonical,
           "sigma_w2=auto\nsigma_w2_auto_erf=0.78539816339744828\nsigma_w2_auto_sin:1:2:0=0.25\n"
           "sigma_w2_auto_sin:3:1:0=0.1111111111111111\n"));
  NNLJobDestroy(&job);
  /* a·sin(bx + c) with a phase is not odd: no critical σ_w² of this kind, auto stays 1; sin's
   * defaults keep the text */
  assert_int_equal(TestJob("-family mlp -grid_activation sin:1:2:0.3,sin", &job, NULL), 0);
  assert_true(NNLJobSigmaW2(job, 0) == 1.0 && NNLJobSigmaW2(job, 1) == 1.0);
  assert_null(strstr(job->canonical, "sigma_w2_auto"));
  NNLJobDestroy(&job);
  /* tanh alone, or erf without an MLP: the job text of earlier releases (their stores resume) */
  assert_int_equal(TestJob("-family mlp,resnet -grid_activation tanh", &job, NULL), 0);
  assert_null(strstr(job->canonical, "sigma_w2_auto"));
  NNLJobDestroy(&job);
  assert_int_equal(TestJob("-family resnet -grid_activation erf", &job, NULL), 0);
  assert_null(strstr(job->canonical, "sigma_w2_auto"));
  NNLJobDestroy(&job);
  assert_int_equal(TestJob("-grid_activation relu,leaky_relu:0.5,tanh", &job, NULL), 0);
  assert_int_equal(job->family[0], NNL_FAMILY_RESNET);
  assert_string_equal(job->output, "results/default");
  assert_true(fabs(NNLJobSigmaW2(job, 0) - 2.0) < 1e-12);
  assert_true(fabs(NNLJobSigmaW2(job, 1) - 2.0 / 1.25) < 1e-12);
  assert_true(fabs(NNLJobSigmaW2(job, 2) - 1.0) < 1e-12);
  assert_int_equal(job->record_mode,
                   NNL_RECORD_LOG); /* 16 log-spaced layers of the depth-1024 networks */
  assert_int_equal(job->record_k, 16);
  NNLJobDestroy(&job);
  /* the default in a job of networks no deeper than 16 is every layer (16 log-spaced would merge
   * some) */
  assert_int_equal(TestJob("-grid_depth 4,16", &job, NULL), 0);
  assert_int_equal(job->record_mode, NNL_RECORD_ALL);
  NNLJobDestroy(&job);
  assert_int_equal(TestJob("-grid_depth 17", &job, NULL), 0);
  assert_int_equal(job->record_mode, NNL_RECORD_LOG);
  NNLJobDestroy(&job);
  /* K given: every layer from the deepest network's depth on, the same job as the default there
     (-record_layers 16 on a job no deeper than 16 was refused as "more layers than the networks
     have", although it is the default); below it, K log-spaced. Spectra alike. */
  for (int k = 0; k < 3; k++) {
    const char *opts[] = {"-grid_depth 3,8 -record_layers 8 -spectra_layers 9",
                          "-grid_depth 3,8 -record_layers 2147483647 -spectra_layers 8",
                          "-grid_depth 3,8 -record_layers 7 -spectra_layers 7"};
    assert_int_equal(TestJob(opts[k], &job, NULL), 0);
    assert_int_equal(job->record_mode, k < 2 ? NNL_RECORD_ALL : NNL_RECORD_LOG);
    assert_int_equal(job->spectra_mode, k < 2 ? NNL_RECORD_ALL : NNL_RECORD_LOG);
    if (k < 2) {
      NNLJob *def;
      assert_int_equal(TestJob("-grid_depth 3,8", &def, NULL), 0);
      assert_non_null(strstr(job->canonical, "record_layers=all"));
      assert_non_null(strstr(def->canonical, "record_layers=all"));
      NNLJobDestroy(&def);
    }
    NNLJobDestroy(&job);
  }
}

/* A misspelled option is refused and the message suggests the right one. */
static void test_unused_option(void **state)
{
  NNLJob        *job;
  PetscErrorCode ierr;
  assert_int_equal(TestJob("-grid_widht 32", &job, NULL), 0);
  PetscPushErrorHandler(Record, NULL);
  ierr = NNLOptionsCheckUnused(PETSC_COMM_SELF, "run");
  PetscPopErrorHandler();
  assert_int_not_equal(ierr, 0);
  assert_non_null(strstr(last, "-grid_widht"));
  assert_non_null(strstr(last, "did you mean -grid_width"));
  NNLJobDestroy(&job);
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_bad_values),     cmocka_unit_test(test_canonical_text),
    cmocka_unit_test(test_defaults),       cmocka_unit_test(test_unused_option),
    cmocka_unit_test(test_swept_settings), cmocka_unit_test(test_swept_attention),
  };
  int rc;
  if (PetscInitialize(&argc, &argv, NULL, NULL)) return 1;
  rc = cmocka_run_group_tests(tests, NULL, NULL);
  PetscFinalize();
  return rc;
}
