/* Exact laws of MATH.md §4 checked on the project's own sampler output (NNLPointCompute, as workers
   run it). Fixed seeds make every test deterministic; bounds are 4 standard errors, so a correct
   sampler passes and a wrong variance, branch scale, bias, square root or stream mix-up fails. */
// ctest-label: law
#include "testutil.h"
#include "nnlimits/gauss.h"
#include <stdlib.h>
#include <string.h>
#include "nnlimits/activation.h"
#include "nnlimits/rng.h"
#include "netkernel.h"
#include "simd.h"

static PetscInt PairIndex(PetscInt m, PetscInt a, PetscInt b)
{
  return a * m - a * (a - 1) / 2 + (b - a);
}

/* Accumulate the Gram entry (a,b) at recorded layer r over all seeds of the grid's points. */
static void GramMoments(NNLJob *job, NNLGrid *grid, NNLSamplerType sampler, PetscInt r, PetscInt a,
                        PetscInt b, Moments *mo)
{
  for (PetscInt p = 0; p < grid->nnets; p++) {
    NNLResult *res;
    assert_int_equal(NNLPointCompute(job, &grid->points[p], sampler, NULL, NULL, &res), 0);
    assert_int_equal(res->status, NNL_STATUS_DONE);
    MomentsAdd(mo,
               res->gram[r * (job->inputs * (job->inputs + 1) / 2) + PairIndex(job->inputs, a, b)]);
    NNLResultDestroy(&res);
  }
}

/* §4.1 Linear ResNet, α = 1/2: E V_ℓ(a,b) = (1 + 1/L)^ℓ C(a,b) at every layer, both samplers.
   Catches: a wrong branch scale L^-α, a missing skip connection, a wrong embedding variance, a
   biased sampler. */
static void test_linear_resnet_mean(void **state)
{
  const char *samplers[] = {"projection", "dense"};
  for (int s = 0; s < 2; s++) {
    NNLJob  *job;
    NNLGrid *grid;
    char     opts[512];
    snprintf(
      opts, sizeof(opts),
      "-family resnet -grid_activation linear -grid_width 24 -grid_depth 8 -grid_seed 0-1500 "
      "-inputs 2 -input_correlation 0.5 -sampler %s",
      samplers[s]);
    assert_int_equal(TestJob(opts, &job, &grid), 0);
    for (PetscInt l = 0; l <= 8; l += 4)
      for (PetscInt a = 0; a < 2; a++) {
        Moments mo = {0};
        char    what[128];
        GramMoments(job, grid, NNL_SAMPLER_AUTO, l, a, 1, &mo);
        snprintf(what, sizeof(what), "%s layer %d V(%d,1)", samplers[s], (int)l, (int)a);
        ASSERT_WITHIN_4SE(what, mo.mean, pow(1 + 1.0 / 8, (double)l) * (a == 1 ? 1.0 : 0.5),
                          MomentsSE(&mo));
      }
    NNLGridDestroy(&grid);
    NNLJobDestroy(&job);
  }
}

/* Mean and variance of ln R, R = (2/n) χ²_K, K ~ Bin(n, 1/2) given K >= 1 (MATH.md §4.3). */
static void LogRatioMoments(int n, double *mean, double *var)
{
  double pk = pow(0.5, n), z = 1 - pk, e1 = 0, e2 = 0, et = 0;
  for (int k = 1; k <= n; k++) {
    pk *= (double)(n - k + 1) / k; /* C(n,k) 2^-n */
    e1 += pk / z * Digamma(k / 2.0);
    e2 += pk / z * Digamma(k / 2.0) * Digamma(k / 2.0);
    et += pk / z * Trigamma(k / 2.0);
  }
  *mean = log(4.0 / n) + e1;
  *var  = et + e2 - e1 * e1;
}

/* For each sampler (projection, dense): the moments over the job's networks of the first input's
   last recorded ln(‖y‖²/n) (post: of ‖φ(y)‖²), each result first through check (may be NULL), held
   to the law N(mu, var): mean and variance within 4 s.e. (se of s² ≈ s²·√(2/(S−1)), the sum being
   near Gaussian). */
static void AssertLogLawBothSamplers(const char *opts, PetscBool              post,
                                     void (*check)(const NNLResult *), double mu, double var)
{
  const char *samplers[] = {"projection", "dense"};

  for (int s = 0; s < 2; s++) {
    NNLJob  *job;
    NNLGrid *grid;
    Moments  mo = {0};
    char     all[512];
    snprintf(all, sizeof(all), "%s -sampler %s", opts, samplers[s]);
    assert_int_equal(TestJob(all, &job, &grid), 0);
    for (PetscInt p = 0; p < grid->nnets; p++) {
      NNLResult *res;
      assert_int_equal(NNLPointCompute(job, &grid->points[p], NNL_SAMPLER_AUTO, NULL, NULL, &res),
                       0);
      if (check) check(res);
      MomentsAdd(&mo, post ? res->lognorm_post[0] : res->lognorm[0]);
      NNLResultDestroy(&res);
    }
    print_message("%s: ln q mean %.3f (law %.3f, se %.3f) var %.3f (law %.3f)\n", samplers[s],
                  mo.mean, mu, MomentsSE(&mo), MomentsVar(&mo), var);
    ASSERT_WITHIN_4SE(samplers[s], mo.mean, mu, MomentsSE(&mo));
    ASSERT_WITHIN_4SE(samplers[s], MomentsVar(&mo), var, MomentsVar(&mo) * sqrt(2.0 / (mo.n - 1)));
    NNLGridDestroy(&grid);
    NNLJobDestroy(&job);
  }
}

/* A one-input ReLU MLP of width n and depth L at σ_w² = 2·gain (plus `extra` options), seeds
   `seeds`: its last ln(‖φ(y)‖²/n) held to L iid ln(gain · (2/n)χ²_K), K ~ Bin(n, ½) given K ≥ 1, by
   AssertLogLawBothSamplers. */
static void AssertReluLogLaw(int n, int L, const char *seeds, const char *extra, double gain,
                             void (*check)(const NNLResult *))
{
  double mu, var;
  char   opts[256];

  LogRatioMoments(n, &mu, &var);
  snprintf(
    opts, sizeof(opts),
    "-family mlp -grid_activation relu -grid_width %d -grid_depth %d -grid_seed %s -inputs 1 "
    "-record_layers last %s",
    n, L, seeds, extra);
  AssertLogLawBothSamplers(opts, PETSC_TRUE, check, L * (mu + log(gain)), L * var);
}

/* Deep narrow networks in the log domain: a linear MLP (σ_w² = 1) at n = 4, L = 4000 has
   ln(‖y^L‖²/n) = Σ of L iid ln(χ²_4/4), mean L(ψ(2) − ln 2) = −1081, variance Lψ'(2) = 2580: ‖y‖²
   near 1e-470, far below double's range. The stored state is rescaled by powers of two (net.c) and
   the statistics are the true network's: ln‖y^L‖² within 4 s.e. of the law (400 seeds), no input
   taken for dead, the Gram an honest 0 (underflow) beside it; both samplers. Catches: the network
   dying of underflow (all zeros from layer ~3000: lognorm −inf, a dead layer; before the
   rescaling), a rescale not carried into the statistics (the mean off by 2k ln 2), or one that is
   not exact. */
static void DeepLinearCheck(const NNLResult *res)
{
  assert_int_equal(res->status, NNL_STATUS_DONE);
  assert_int_equal(res->dead_layer, -1);
  assert_true(isfinite(res->lognorm[0]) && isfinite(res->kurtosis[0]) && isfinite(res->ks[0]));
  if (res->lognorm[0] < -800)
    assert_true(res->gram[0] == 0.0); /* e^-800 underflows: the true q, as a double */
}

static void test_deep_linear_log_domain(void **state)
{
  const int    n = 4, L = 4000;
  const double mu = L * (Digamma(n / 2.0) - log(n / 2.0)), var = L * Trigamma(n / 2.0);
  char         opts[256];

  (void)state;
  snprintf(
    opts, sizeof(opts),
    "-family mlp -grid_activation linear -grid_width %d -grid_depth %d -grid_seed 0-400 -inputs 2 "
    "-record_layers last",
    n, L);
  AssertLogLawBothSamplers(opts, PETSC_FALSE, DeepLinearCheck, mu, var);
}

/* Exploding networks in the log domain: a ReLU MLP at σ_w² = 8 (four times critical) with bias σ_b²
   = 1, n = 32, L = 1000: ln(‖φ(y^L)‖²/n) is, but for the bias's share of the first few layers
   (+0.04, against a bound of 4 s.e. = 3.2), a sum of L iid ln(4 · (2/n)χ²_K), mean ~1380: ‖φ(y)‖²
   near 2^1990, far above double's range. Catches: the network failing with "overflow or NaN"
   (before the rescaling took networks with a bias), a rescale not carried into the statistics. */
static void test_exploding_relu_bias_log_domain(void **state)
{
  (void)state;
  AssertReluLogLaw(32, 1000, "0-400", "-sigma_w2 8 -sigma_b2 1", 4.0, DeepLinearCheck);
}

/* A network that leaves double's range and cannot be rescaled (softplus is not positively
   homogeneous; σ_w² = 50, bias 1, n = 32: ln‖y‖² grows ~3.2 a layer and passes 709 near layer 225)
   fails at the layer where its Gram overflows, saying so, with every layer before it kept; it is
   never finished with wrong numbers. Catches: the projection from an infinite K, whose pivoted
   Cholesky has rank 0: the state became 0 and the bias restarted it, so a ReLU MLP with bias at
   σ_w² = 8 (before it was rescaled) finished with ln‖y‖² = 120 at layer 631 instead of 830; a
   failure reported only at the next recorded layer (600 here). */
static void test_overflow_fails_where_it_happens(void **state)
{
  const char *samplers[] = {"projection", "dense"};

  (void)state;
  for (int sm = 0; sm < 2; sm++) {
    NNLJob  *job;
    NNLGrid *grid;
    char     all[512];
    snprintf(all, sizeof(all),
             "-family mlp -grid_activation softplus -sigma_w2 50 -sigma_b2 1 -grid_width 32 "
             "-grid_depth 600 "
             "-grid_seed 0-3 -inputs 2 -record_layers 20 -sampler %s",
             samplers[sm]);
    assert_int_equal(TestJob(all, &job, &grid), 0);
    for (PetscInt p = 0; p < grid->nnets; p++) {
      NNLResult *res;
      int        at = 0;
      assert_int_equal(NNLPointCompute(job, &grid->points[p], NNL_SAMPLER_AUTO, NULL, NULL, &res),
                       0);
      assert_int_equal(res->status, NNL_STATUS_FAILED);
      if (sscanf(res->message, "overflow at layer %d:", &at) != 1 || at < 150 || at > 300)
        fail_msg("%s seed %d: \"%s\"", samplers[sm], (int)p, res->message);
      assert_true(res->nrec > 0 && res->layers[res->nrec - 1] <= at);
      for (PetscInt i = 0; i < res->nrec * res->m; i++) assert_true(isfinite(res->lognorm[i]));
      NNLResultDestroy(&res);
    }
    NNLGridDestroy(&grid);
    NNLJobDestroy(&job);
  }
}

/* A σ_w² past double's square root: a ReLU and a linear MLP at σ_w² = 2^666 (3.1e200) are the
   networks at σ_w² = 4 times 2^332 a layer, exactly (the same streams; every operation scales by
   powers of two): log-norms 664 ℓ ln 2 apart (to rounding), kurtosis and KS the same bits, status
   done, with either sampler. Catches: the first layer's K left unrescaled (the projection failed
   with "overflow at layer 1", the second layer's K being σ_w² q = 2^1332). */
static void test_huge_sigma_w2(void **state)
{
  const char *samplers[] = {"projection", "dense"};

  (void)state;
  for (int sm = 0; sm < 2; sm++) {
    NNLJob  *job[2];
    NNLGrid *grid[2];
    for (int h = 0; h < 2; h++) {
      char all[512];
      snprintf(all, sizeof(all),
               "-family mlp -grid_activation relu,linear -sigma_w2 %s -grid_width 16 -grid_depth 4 "
               "-grid_seed 0-3 "
               "-inputs 2 -record_layers all -sampler %s",
               h ? "3.061802069160839e200" : "4", samplers[sm]);
      assert_int_equal(TestJob(all, &job[h], &grid[h]), 0);
    }
    assert_true(job[1]->sigma_w2 == ldexp(1, 666));
    for (PetscInt p = 0; p < grid[0]->nnets; p++) {
      NNLResult *a, *b;
      assert_int_equal(
        NNLPointCompute(job[0], &grid[0]->points[p], NNL_SAMPLER_AUTO, NULL, NULL, &a), 0);
      assert_int_equal(
        NNLPointCompute(job[1], &grid[1]->points[p], NNL_SAMPLER_AUTO, NULL, NULL, &b), 0);
      if (b->status != NNL_STATUS_DONE)
        fail_msg("%s point %d: %s", samplers[sm], (int)p, b->message);
      assert_int_equal(a->nrec, b->nrec);
      for (PetscInt r = 0; r < a->nrec; r++)
        for (PetscInt i = 0; i < a->m; i++) {
          const PetscInt k    = r * a->m + i;
          const double   want = a->lognorm[k] + 664.0 * (double)a->layers[r] * M_LN2;
          if (fabs(b->lognorm[k] - want) > 1e-12 * fabs(want) ||
              memcmp(&a->kurtosis[k], &b->kurtosis[k], sizeof(double)))
            fail_msg("%s point %d layer %d: lognorm %.17g, want %.17g; kurtosis %.17g / %.17g",
                     samplers[sm], (int)p, (int)a->layers[r], b->lognorm[k], want, b->kurtosis[k],
                     a->kurtosis[k]);
        }
      for (PetscInt i = 0; i < a->m; i++) assert_memory_equal(&a->ks[i], &b->ks[i], sizeof(double));
      NNLResultDestroy(&a);
      NNLResultDestroy(&b);
    }
    for (int h = 0; h < 2; h++) {
      NNLGridDestroy(&grid[h]);
      NNLJobDestroy(&job[h]);
    }
  }
}

/* A layer neither observed nor read whole by the next stays in L1 (src/net.c, Streams): the layers
   a job observes give the same bits whether the others are recorded or not. The same networks with
   every layer recorded and with spectra at every layer (nothing streamed), and with 3 log-spaced
   layers recorded and spectra at 5 (some of them not recorded): each statistic of a layer the
   second records, each spectrum, the dead layer and the KS distance equal to the bit, for the MLP
   (with bias), the ResNet and the shaped ReLU MLP, widths 1030 (several blocks and 6 rows past the
   last multiple of 8) and 5 (deep enough that ReLU MLPs die in a streamed layer), several seeds.
   Catches (each checked): the Gram's tail rows not stored, a ResNet's Y left in L1, a spectra
   layer streamed, a dead column missed in a streamed layer. */
static void test_streamed_layers_bits(void **state)
{
  const char    *families[] = {"mlp -sigma_b2 0.1", "resnet", "shaped_mlp"};
  const PetscInt widths[]   = {1030, 5};
  PetscInt       dead       = 0;

  (void)state;
  for (int f = 0; f < 3; f++)
    for (int w = 0; w < 2; w++) {
      NNLJob  *job[2];
      NNLGrid *grid[2];
      for (int h = 0; h < 2; h++) {
        char opts[512];
        snprintf(opts, sizeof(opts),
                 "-family %s -grid_activation relu -grid_width %d -grid_depth 60 -grid_seed 0-%d "
                 "-inputs 3 -input_correlation 0.3 -sampler projection %s",
                 families[f], (int)widths[w], w ? 12 : 3,
                 h ? "-record_layers 3 -spectra_layers 5"
                   : "-record_layers all -spectra_layers all");
        assert_int_equal(TestJob(opts, &job[h], &grid[h]), 0);
      }
      for (PetscInt p = 0; p < grid[0]->nnets; p++) {
        NNLResult     *a, *b;
        const PetscInt m = 3, np = m * (m + 1) / 2;
        assert_int_equal(
          NNLPointCompute(job[0], &grid[0]->points[p], NNL_SAMPLER_AUTO, NULL, NULL, &a), 0);
        assert_int_equal(
          NNLPointCompute(job[1], &grid[1]->points[p], NNL_SAMPLER_AUTO, NULL, NULL, &b), 0);
        assert_int_equal(a->status, b->status);
        if (a->dead_layer != b->dead_layer)
          fail_msg("%s width %d point %d: dead layer %d, recording every layer %d", families[f],
                   (int)widths[w], (int)p, (int)b->dead_layer, (int)a->dead_layer);
        dead += a->dead_layer >= 0;
        for (PetscInt r = 0; r < b->nrec; r++) {
          PetscInt ra = 0;
          while (ra < a->nrec && a->layers[ra] != b->layers[r]) ra++;
          assert_true(ra < a->nrec);
          if (memcmp(a->gram + ra * np, b->gram + r * np, sizeof(double) * np) ||
              memcmp(a->lognorm + ra * m, b->lognorm + r * m, sizeof(double) * m) ||
              memcmp(a->lognorm_post + ra * m, b->lognorm_post + r * m, sizeof(double) * m) ||
              memcmp(a->kurtosis + ra * m, b->kurtosis + r * m, sizeof(double) * m))
            fail_msg("%s width %d point %d layer %d: statistics differ from those of every layer "
                     "recorded",
                     families[f], (int)widths[w], (int)p, (int)b->layers[r]);
        }
        for (PetscInt k = 0; k < b->nspec; k++) {
          PetscInt ka = 0;
          while (ka < a->nspec && a->spec_layers[ka] != b->spec_layers[k]) ka++;
          assert_true(ka < a->nspec);
          assert_memory_equal(a->eig + ka * m, b->eig + k * m, sizeof(double) * m);
          assert_memory_equal(a->sv + ka * a->nsv, b->sv + k * b->nsv, sizeof(double) * b->nsv);
        }
        assert_memory_equal(a->ks, b->ks, sizeof(double) * m);
        NNLResultDestroy(&a);
        NNLResultDestroy(&b);
      }
      for (int h = 0; h < 2; h++) {
        NNLGridDestroy(&grid[h]);
        NNLJobDestroy(&job[h]);
      }
    }
  assert_true(dead > 0); /* the dead check of a streamed layer was exercised */
}

/* Rescaling is exact: the same networks computed with the state rescaled whenever a Gram entry
   passes 2^±3 (about every other layer) and with the default 2^±512 (never, at these depths) give
   the same Gram, kurtosis and KS to the bit, log-norms to rounding (the log domain adds 2k ln 2)
   and spectra to 1e-12 — for a ReLU MLP with bias (σ_w² = 8, so q grows 4× a layer), a linear MLP
   (q wanders both ways), a ResNet and a shaped ReLU MLP, each sampler. Catches: a bias added
   unscaled to a rescaled state (the ReLU MLP's q then off by the bias's weight, ~10 %), a rescale
   of Y without Phi or K, a spectrum whose scale is lost. */
static void test_rescale_exact(void **state)
{
  const char *jobs[] = {
    "-family mlp -grid_activation relu -sigma_w2 8 -sigma_b2 1 -grid_width 24 -grid_depth 60",
    "-family mlp -grid_activation linear -grid_width 4 -grid_depth 300",
    "-family resnet -grid_activation relu -grid_width 16 -grid_depth 200",
    "-family shaped_mlp -grid_activation relu -shape_c_minus -2 -grid_width 8 -grid_depth 64"};
  const char *samplers[] = {"projection", "dense"};

  (void)state;
  for (size_t j = 0; j < sizeof(jobs) / sizeof(jobs[0]); j++)
    for (int sm = 0; sm < 2; sm++) {
      NNLJob  *job;
      NNLGrid *grid;
      char     all[512];
      snprintf(all, sizeof(all),
               "%s -grid_seed 0-6 -inputs 3 -input_correlation 0.3 -record_layers all "
               "-spectra_layers 5 -sampler %s",
               jobs[j], samplers[sm]);
      assert_int_equal(TestJob(all, &job, &grid), 0);
      for (PetscInt p = 0; p < grid->nnets; p++) {
        NNLResult *a, *b;
        PetscInt   m;
        NNLNetRescaleThreshold(0);
        assert_int_equal(NNLPointCompute(job, &grid->points[p], NNL_SAMPLER_AUTO, NULL, NULL, &a),
                         0);
        NNLNetRescaleThreshold(3);
        assert_int_equal(NNLPointCompute(job, &grid->points[p], NNL_SAMPLER_AUTO, NULL, NULL, &b),
                         0);
        NNLNetRescaleThreshold(0);
        m = a->m;
        assert_int_equal(a->status, NNL_STATUS_DONE);
        assert_int_equal(b->status, NNL_STATUS_DONE);
        assert_int_equal(a->nrec, b->nrec);
        for (PetscInt i = 0; i < a->nrec * m * (m + 1) / 2; i++)
          if (memcmp(&a->gram[i], &b->gram[i], sizeof(double)))
            fail_msg("%s %s: gram[%d] %.17g != %.17g", jobs[j], samplers[sm], (int)i, a->gram[i],
                     b->gram[i]);
        for (PetscInt i = 0; i < a->nrec * m; i++) {
          if (memcmp(&a->kurtosis[i], &b->kurtosis[i], sizeof(double)))
            fail_msg("%s %s: kurtosis[%d] differs", jobs[j], samplers[sm], (int)i);
          if (fabs(a->lognorm[i] - b->lognorm[i]) > 1e-12 * (1 + fabs(a->lognorm[i])) ||
              fabs(a->lognorm_post[i] - b->lognorm_post[i]) >
                1e-12 * (1 + fabs(a->lognorm_post[i])))
            fail_msg("%s %s: lognorm[%d] %.17g / %.17g", jobs[j], samplers[sm], (int)i,
                     a->lognorm[i], b->lognorm[i]);
        }
        for (PetscInt i = 0; i < m; i++)
          if (memcmp(&a->ks[i], &b->ks[i], sizeof(double)))
            fail_msg("%s %s: ks[%d] differs", jobs[j], samplers[sm], (int)i);
        assert_int_equal(a->nspec, b->nspec);
        for (PetscInt i = 0; i < a->nspec * m; i++) { /* the true values: stored ones times 4^s */
          const double ea = ldexp(a->eig[i], 2 * (int)a->spec_scale2[i / m]),
                       eb = ldexp(b->eig[i], 2 * (int)b->spec_scale2[i / m]),
                       e0 = ldexp(a->eig[i / m * m], 2 * (int)a->spec_scale2[i / m]);
          if (fabs(ea - eb) > 1e-12 * fabs(e0))
            fail_msg("%s %s: eig[%d] %.17g / %.17g", jobs[j], samplers[sm], (int)i, ea, eb);
        }
        for (PetscInt i = 0; i < a->nspec * a->nsv; i++) {
          const PetscInt l  = i / a->nsv;
          const double   sa = ldexp(a->sv[i], (int)a->spec_scale2[l]),
                       sb   = ldexp(b->sv[i], (int)b->spec_scale2[l]),
                       s0   = ldexp(a->sv[l * a->nsv], (int)a->spec_scale2[l]);
          if (fabs(sa - sb) > 1e-12 * fabs(s0))
            fail_msg("%s %s: sv[%d] differs", jobs[j], samplers[sm], (int)i);
        }
        NNLResultDestroy(&a);
        NNLResultDestroy(&b);
      }
      NNLGridDestroy(&grid);
      NNLJobDestroy(&job);
    }
}

/* §4.3 ReLU MLP at criticality: ln(‖x^L‖²/n) is a sum of L iid ln((2/n)χ²_K). Catches: a wrong σ_w²
   or fan-in, a sampler whose norms have the right mean but the wrong spread (e.g. reusing normals
   across layers). */
static void test_relu_mlp_lognorm(void **state)
{
  (void)state;
  AssertReluLogLaw(32, 6, "0-3000", "", 1.0, NULL);
}

/* Per-layer statistics of every seed of a one-input job with every layer recorded: lognorm (pre),
   lognorm_post and the fourth moment (1/n)Σy⁴ = q²(kurtosis + 3) rebuilt from the stored kurtosis.
   Networks that died (some layer with K = 0) are left out, as the exact laws are conditional on K
   ≥ 1. Arrays: S × L, seed-major. */
static void LayerStats(const char *opts, PetscInt *S, PetscInt *L, double **pre, double **post,
                       double **m4)
{
  NNLJob  *job;
  NNLGrid *grid;
  PetscInt s = 0;

  assert_int_equal(TestJob(opts, &job, &grid), 0);
  *L    = grid->points[0].depth;
  *pre  = malloc(sizeof(double) * grid->nnets * *L);
  *post = malloc(sizeof(double) * grid->nnets * *L);
  *m4   = malloc(sizeof(double) * grid->nnets * *L);
  for (PetscInt p = 0; p < grid->nnets; p++) {
    NNLResult *res;
    assert_int_equal(NNLPointCompute(job, &grid->points[p], NNL_SAMPLER_AUTO, NULL, NULL, &res), 0);
    assert_int_equal(res->status, NNL_STATUS_DONE);
    assert_int_equal(res->nrec, *L);
    if (res->dead_layer < 0) {
      for (PetscInt r = 0; r < *L; r++) {
        assert_int_equal(res->layers[r], r + 1);
        (*pre)[s * *L + r]  = res->lognorm[r];
        (*post)[s * *L + r] = res->lognorm_post[r];
        (*m4)[s * *L + r]   = exp(2 * res->lognorm[r]) * (res->kurtosis[r] + 3);
      }
      s++;
    }
    NNLResultDestroy(&res);
  }
  *S = s;
  NNLGridDestroy(&grid);
  NNLJobDestroy(&job);
}

/* Sample mean and variance of x[0..S) and the standard errors of both (the variance's from the
   sample's own fourth central moment: ln χ² increments are skewed, so the Gaussian shortcut would
   understate it). */
static void MeanVarSE(PetscInt S, const double *x, double *mean, double *var, double *se_mean,
                      double *se_var)
{
  double m = 0, c2 = 0, c4 = 0;
  for (PetscInt i = 0; i < S; i++) m += x[i] / S;
  for (PetscInt i = 0; i < S; i++) {
    double d2 = (x[i] - m) * (x[i] - m);
    c2 += d2 / S;
    c4 += d2 * d2 / S;
  }
  *mean    = m;
  *var     = c2 * S / (S - 1);
  *se_mean = sqrt(*var / S);
  *se_var  = sqrt((c4 - c2 * c2) / S);
}

/* §4.3 layer by layer: with every layer recorded, the increments ln s_ℓ − ln s_{ℓ−1} of the stored
   lognorm_post (s_0 = ‖x‖²/d = 1) have the mean and variance of ln R, R = (2/n)χ²_K, at every
   layer, and the stored pre-activation lognorm is ln s_{ℓ−1} + ln((2/n)χ²_n): mean ln(4/n) +
   ψ(n/2), variance ψ'(n/2). Extends test_relu_mlp_lognorm (the sum at the last layer) to every
   recorded layer and to the pre-activation column. Catches: statistics stored under the wrong
   layer, lognorm and lognorm_post swapped or computed from the same vector, a first layer with the
   wrong fan-in, a sampler right on average over depth but wrong per layer. */
static void test_relu_mlp_lognorm_per_layer(void **state)
{
  const int n = 16;
  PetscInt  S, L;
  double   *pre, *post, *m4, *x, mu, var;

  LogRatioMoments(n, &mu, &var);
  LayerStats(
    "-family mlp -grid_activation relu -grid_width 16 -grid_depth 6 -grid_seed 0-4000 -inputs 1 "
    "-record_layers all",
    &S, &L, &pre, &post, &m4);
  assert_true(S > 3990);
  x = malloc(sizeof(double) * S);
  for (PetscInt l = 0; l < L; l++) {
    double m, v, sm, sv, chi_mean = log(4.0 / n) + Digamma(n / 2.0), chi_var = Trigamma(n / 2.0);
    char   what[96];
    for (PetscInt s = 0; s < S; s++) x[s] = post[s * L + l] - (l ? post[s * L + l - 1] : 0.0);
    MeanVarSE(S, x, &m, &v, &sm, &sv);
    snprintf(what, sizeof(what), "layer %d: mean ln R (post)", (int)l + 1);
    ASSERT_WITHIN_4SE(what, m, mu, sm);
    snprintf(what, sizeof(what), "layer %d: var ln R (post)", (int)l + 1);
    ASSERT_WITHIN_4SE(what, v, var, sv);
    for (PetscInt s = 0; s < S; s++) x[s] = pre[s * L + l] - (l ? post[s * L + l - 1] : 0.0);
    MeanVarSE(S, x, &m, &v, &sm, &sv);
    snprintf(what, sizeof(what), "layer %d: mean ln (2/n)chi2_n (pre)", (int)l + 1);
    ASSERT_WITHIN_4SE(what, m, chi_mean, sm);
    snprintf(what, sizeof(what), "layer %d: var ln (2/n)chi2_n (pre)", (int)l + 1);
    ASSERT_WITHIN_4SE(what, v, chi_var, sv);
  }
  free(x);
  free(pre);
  free(post);
  free(m4);
}

/* E z⁴/(E z²)² over networks and coordinates, z a pre-activation coordinate at layer l, from
   per-seed q = e^lognorm and (1/n)Σy⁴ (both unbiased for E z², E z⁴ by exchangeability); standard
   error by the delta method. */
static void EnsembleKurtosis(PetscInt S, PetscInt L, PetscInt l, const double *pre,
                             const double *m4, double *ratio, double *se)
{
  double A = 0, B = 0, vu = 0, vv = 0, cuv = 0;
  for (PetscInt s = 0; s < S; s++) {
    A += m4[s * L + l] / S;
    B += exp(pre[s * L + l]) / S;
  }
  for (PetscInt s = 0; s < S; s++) {
    double du = m4[s * L + l] - A, dv = exp(pre[s * L + l]) - B;
    vu += du * du / (S - 1);
    vv += dv * dv / (S - 1);
    cuv += du * dv / (S - 1);
  }
  *ratio = A / (B * B);
  *se    = sqrt((vu / pow(B, 4) - 4 * A * cuv / pow(B, 5) + 4 * A * A * vv / pow(B, 6)) / S);
}

/* §4.4 finite-n kurtosis at criticality, fixed input norm: E z⁴/(E z²)² = 3 E R²^(ℓ−1) with E R² =
   1 + 5/n (ReLU, R = (2/n)χ²_K) and 1 + 2/n (linear, R = χ²_n/n), at every layer — the PDLT slopes
   5 and 2 at finite n. Uses the stored kurtosis column as the analysis scripts do. Catches:
   kurtosis stored without the −3 or about the mean instead of about zero, the kurtosis of φ(y)
   instead of y, kurtosis and lognorm of different layers, a sampler whose norms have the right mean
   but the wrong variance from layer to layer (the layer-1 value 3 is exact). */
static void test_mlp_kurtosis_growth(void **state)
{
  const char  *acts[] = {"relu", "linear"};
  const double grow[] = {1 + 5.0 / 16, 1 + 2.0 / 16};
  for (int i = 0; i < 2; i++) {
    PetscInt S, L;
    double  *pre, *post, *m4;
    char     opts[256];
    snprintf(
      opts, sizeof(opts),
      "-family mlp -grid_activation %s -grid_width 16 -grid_depth 6 -grid_seed 0-4000 -inputs 1 "
      "-record_layers all",
      acts[i]);
    LayerStats(opts, &S, &L, &pre, &post, &m4);
    for (PetscInt l = 0; l < L; l++) {
      double r, se;
      char   what[64];
      EnsembleKurtosis(S, L, l, pre, m4, &r, &se);
      snprintf(what, sizeof(what), "%s layer %d: E z^4/(E z^2)^2", acts[i], (int)l + 1);
      ASSERT_WITHIN_4SE(what, r, 3 * pow(grow[i], (double)l), se);
    }
    free(pre);
    free(post);
    free(m4);
  }
}

/* §4.5 MLP layer 2: E V_2 = σ_w² F_φ(σ_w² C) + σ_b² exactly at any width; ReLU diagonal exact at
   every depth. Catches: a wrong bias variance, a wrong activation in the sampler, a first layer
   that is not exactly Gaussian. */
static void test_mlp_layer2_nngp(void **state)
{
  const char *acts[] = {"tanh", "relu", "gelu"};
  for (int s = 0; s < 2; s++)
    for (int i = 0; i < 3; i++) {
      NNLJob  *job;
      NNLGrid *grid;
      char     opts[512];
      snprintf(
        opts, sizeof(opts),
        "-family mlp -grid_activation %s -grid_width 16 -grid_depth 2 -grid_seed 0-2500 -inputs 2 "
        "-input_correlation 0.3 -sigma_w2 1.5 -sigma_b2 0.1 -sampler %s",
        acts[i], s ? "dense" : "projection");
      assert_int_equal(TestJob(opts, &job, &grid), 0);
      for (PetscInt a = 0; a < 2; a++) {
        Moments mo   = {0};
        double  c    = a == 1 ? 1.0 : 0.3,
               exact = 1.5 * NNLGaussDual(&job->act[0], 1.5, 1.5, 1.5 * c) + 0.1;
        GramMoments(job, grid, NNL_SAMPLER_AUTO, 1, a, 1, &mo);
        ASSERT_WITHIN_4SE(acts[i], mo.mean, exact, MomentsSE(&mo));
      }
      NNLGridDestroy(&grid);
      NNLJobDestroy(&job);
    }
}

static void test_relu_mlp_diagonal_every_layer(void **state)
{
  NNLJob  *job;
  NNLGrid *grid;
  assert_int_equal(
    TestJob(
      "-family mlp -grid_activation relu -grid_width 12 -grid_depth 6 -grid_seed 0-2000 -inputs 1 "
      "-sigma_w2 2.5 -sigma_b2 0.2",
      &job, &grid),
    0);
  for (PetscInt l = 1; l <= 6; l++) {
    Moments mo = {0};
    double  q  = 2.5;
    for (PetscInt k = 2; k <= l; k++) q = 2.5 * q / 2 + 0.2;
    GramMoments(job, grid, NNL_SAMPLER_AUTO, l - 1, 0, 0, &mo);
    ASSERT_WITHIN_4SE("relu diagonal", mo.mean, q, MomentsSE(&mo));
  }
  NNLGridDestroy(&grid);
  NNLJobDestroy(&job);
}

static int CmpD(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Two-sample Kolmogorov–Smirnov statistic of x[0..n) and y[0..n) (sorted in place). */
static double KS2(int n, double *x, double *y)
{
  int    i = 0, j = 0;
  double d = 0;
  qsort(x, (size_t)n, sizeof(double), CmpD);
  qsort(y, (size_t)n, sizeof(double), CmpD);
  while (i < n && j < n) {
    double v = x[i] < y[j] ? x[i] : y[j];
    while (i < n && x[i] <= v) i++;
    while (j < n && y[j] <= v) j++;
    if (fabs((double)i / n - (double)j / n) > d) d = fabs((double)i / n - (double)j / n);
  }
  return d;
}

/* §4.9 Projection vs dense: the same law. At small width (n = 6, strongly non-Gaussian) and tanh,
   the last layer's ln V_00 and ρ_01 from both samplers pass a two-sample KS test at level 1e-4
   (fixed seeds: deterministic). Catches: a projection square root that is off (RᵀR ≠ K), a
   transposed R, reusing Z across inputs. */
static void test_projection_equals_dense_in_law(void **state)
{
  const int S = 3000;
  double   *x[2][2];
  for (int s = 0; s < 2; s++) {
    NNLJob  *job;
    NNLGrid *grid;
    char     opts[512];
    snprintf(
      opts, sizeof(opts),
      "-family resnet -grid_activation tanh -grid_width 6 -grid_depth 5 -grid_seed 0-%d -inputs 3 "
      "-input_correlation 0.4 -record_layers last -sampler %s",
      S, s ? "dense" : "projection");
    assert_int_equal(TestJob(opts, &job, &grid), 0);
    x[s][0] = malloc(sizeof(double) * S);
    x[s][1] = malloc(sizeof(double) * S);
    for (PetscInt p = 0; p < grid->nnets; p++) {
      NNLResult *res;
      assert_int_equal(NNLPointCompute(job, &grid->points[p], NNL_SAMPLER_AUTO, NULL, NULL, &res),
                       0);
      x[s][0][p] = log(res->gram[0]);
      x[s][1][p] = res->gram[1] / sqrt(res->gram[0] * res->gram[3]);
      NNLResultDestroy(&res);
    }
    NNLGridDestroy(&grid);
    NNLJobDestroy(&job);
  }
  for (int k = 0; k < 2; k++) {
    double d = KS2(S, x[0][k], x[1][k]), crit = sqrt(-0.5 * log(1e-4 / 2)) * sqrt(2.0 / S);
    if (d > crit) fail_msg("statistic %d: KS distance %.4f > critical %.4f", k, d, crit);
    free(x[0][k]);
    free(x[1][k]);
  }
}

/* The projection layer's fused pass (src/net.c: each row block's normals, Y, Phi = φ(Y) and the
   next layer's Gram sums in one go) gives, bit for bit, the observed Gram of its steps one after
   the other over whole arrays through the public kernels (NNLGram, NNLSqrtPSD, NNLRngNormals,
   NNLProject, NNLActivationApply): a ResNet, and an MLP with bias, tanh, m = 3, every layer
   recorded, width 1030 (several blocks and 6 rows past the last multiple of 8) at depth 5, and
   width 6 at depth 30 (18 normals a layer: the layers' normals drawn 12 at a time, LayerNormals).
   Catches: a block's normals drawn at the wrong offsets, a Gram partial sum lost or doubled at a
   block edge, the tail rows missed, φ applied twice or not at all, the wrong scale or shift when
   the Gram is finished, a layer given another layer's normals from those drawn ahead. */
static void test_fused_layer_bits(void **state)
{
  const char    *families[] = {"resnet", "mlp"};
  const PetscInt widths[] = {1030, 6}, depths[] = {5, 30};

  (void)state;
  for (int f = 0; f < 4; f++) {
    NNLJob         *job;
    NNLGrid        *grid;
    NNLResult      *res;
    const NNLPoint *pt;
    char            opts[512];
    const PetscInt  n = widths[f / 2], m = 3, np = m * (m + 1) / 2;
    double         *Y, *Phi, *Z, K[9], R[9];
    PetscInt        first, r = 0;
    PetscBool       mlp = f % 2 == 1;
    double          sw2, sb2, branch;

    snprintf(
      opts, sizeof(opts),
      "-family %s -grid_activation tanh -grid_width %d -grid_depth %d -grid_seed 3 -inputs 3 "
      "-input_correlation 0.3 -record_layers all %s",
      families[f % 2], (int)n, (int)depths[f / 2], mlp ? "-sigma_b2 0.2" : "");
    assert_int_equal(TestJob(opts, &job, &grid), 0);
    pt = &grid->points[0];
    assert_int_equal(NNLPointCompute(job, pt, NNL_SAMPLER_PROJECTION, NULL, NULL, &res), 0);
    assert_int_equal(res->status, NNL_STATUS_DONE);
    first  = NNLFamilyFirstLayer(pt->family);
    sw2    = NNLJobSigmaW2(job, pt->act);
    sb2    = job->sigma_b2;
    branch = pow((double)pt->depth, -job->branch_alpha);
    Y = malloc(sizeof(double) * (size_t)(n * m)), Phi = malloc(sizeof(double) * (size_t)(n * m)),
    Z = malloc(sizeof(double) * (size_t)(n * m));
    for (PetscInt a = 0; a < m; a++)
      for (PetscInt b = 0; b < m; b++)
        K[a + b * m] = (mlp ? sw2 : 1.0) * (a == b ? 1.0 : job->input_correlation);
    for (PetscInt l = first; l <= pt->depth; l++) {
      NNLRngStream s;
      if (l > first)
        NNLGram(n, m, Phi, mlp ? sw2 / (double)n : 1.0 / (double)n, mlp ? sb2 : 0.0, K);
      assert_int_equal(NNLSqrtPSD(m, K, R), 0);
      NNLRngStreamInit(&s, (uint64_t)job->run_seed, pt->id, (uint64_t)l, NNL_PURPOSE_PROJECT);
      NNLRngNormals(&s, 0, (size_t)(n * m), Z);
      NNLProject(n, m, Z, R, l == first || mlp ? 1.0 : branch, l == first || mlp ? 0.0 : 1.0, Y);
      NNLActivationApply(&job->act[pt->act], (size_t)(n * m), Y, Phi);
      assert_true(r < res->nrec && res->layers[r] == l);
      for (PetscInt a = 0, k = 0; a < m; a++)
        for (PetscInt b = a; b < m; b++, k++) {
          double want = NNLDot(n, Y + a * n, Y + b * n) / (double)n, got = res->gram[r * np + k];
          if (memcmp(&want, &got, sizeof(want)))
            fail_msg("%s n %d layer %d q(%d,%d) = %.17g, the steps one by one give %.17g",
                     families[f % 2], (int)n, (int)l, (int)a, (int)b, got, want);
        }
      r++;
    }
    assert_int_equal(r, res->nrec);
    free(Y), free(Phi), free(Z);
    NNLResultDestroy(&res);
    NNLGridDestroy(&grid);
    NNLJobDestroy(&job);
  }
}

/* The dense layer (src/net.c DenseLayer: W drawn a chunk of whole columns at a time, never held
   whole, its product accumulated chunk by chunk) gives, bit for bit, in every simd.h build the CPU
   has, the network the definition computes in plain loops: W in full from NNLRngNormals, entry (i,
   b) of W A its products added in order of j, then β·y + √var·t, the MLP's bias, φ. An MLP (bias,
   tanh) and a ResNet (relu), m = 3, every layer recorded: width 300 (65536 / 300 = 218 columns a
   chunk: a full chunk, a part chunk, and 4 rows past the last multiple of 8), d = 5, depth 4; and
   width 8 at depth 20 with d = 5 and d = 8 (64 normals of W and 8 of the bias a layer, drawn ahead
   4 and 32 layers at a time, LayerNormals; d = n: the first layer's W of that size too). Catches: a
   chunk's normals drawn at the wrong offset, the product restarted or A misaligned at a chunk edge,
   the tail rows missed, a build that adds in another order, β or √var applied wrongly, a layer
   given another layer's W or bias from those drawn ahead. */
static void test_dense_layer_bits(void **state)
{
  const char    *families[] = {"resnet", "mlp"}, *builds[] = {"plain", "avx2", "avx512"};
  const PetscInt widths[] = {300, 8, 8}, dims[] = {5, 5, 8}, depths[] = {4, 20, 20};

  (void)state;
  for (int f = 0; f < 6; f++) {
    NNLJob         *job;
    NNLGrid        *grid;
    const NNLPoint *pt;
    char            opts[512];
    const PetscInt  n = widths[f / 2], m = 3, d = dims[f / 2], np = m * (m + 1) / 2;
    PetscBool       mlp = f % 2 == 1;
    PetscInt        first, depth;
    double         *W, *Y, *Phi, *Bias, *X, *want;
    double          sw2, sb2, branch;
    PetscInt        nlay;

    snprintf(opts, sizeof(opts),
             "-family %s -grid_activation %s -grid_width %d -grid_depth %d -grid_seed 5 -inputs %d "
             "-input_dim %d -input_correlation 0.3 -record_layers all %s",
             families[f % 2], mlp ? "tanh" : "relu", (int)n, (int)depths[f / 2], (int)m, (int)d,
             mlp ? "-sigma_b2 0.2" : "");
    assert_int_equal(TestJob(opts, &job, &grid), 0);
    pt     = &grid->points[0];
    first  = NNLFamilyFirstLayer(pt->family);
    depth  = pt->depth;
    sw2    = NNLJobSigmaW2(job, pt->act);
    sb2    = job->sigma_b2;
    branch = pow((double)depth, -job->branch_alpha);
    nlay   = depth - first + 1;
    W = malloc(sizeof(double) * (size_t)(n * n)), Y = malloc(sizeof(double) * (size_t)(n * m));
    Phi = malloc(sizeof(double) * (size_t)(n * m)), Bias = malloc(sizeof(double) * (size_t)n);
    X    = malloc(sizeof(double) * (size_t)(d * m)),
    want = malloc(sizeof(double) * (size_t)(nlay * np));
    assert_int_equal(NNLInputs(job, X), 0);
    for (PetscInt l = first, r = 0; l <= depth; l++, r++) { /* the definition, in plain loops */
      NNLRngStream   s;
      const PetscInt k = l == first ? d : n;
      const double  *A = l == first ? X : Phi;
      const double   var =
        l == first ? (mlp ? sw2 : 1.0) / (double)d : (mlp ? sw2 : branch * branch) / (double)n;
      const double beta = l == first || mlp ? 0.0 : 1.0;
      NNLRngStreamInit(&s, (uint64_t)job->run_seed, pt->id, (uint64_t)l, NNL_PURPOSE_WEIGHT);
      NNLRngNormals(&s, 0, (size_t)(n * k), W);
      for (PetscInt b = 0; b < m; b++)
        for (PetscInt i = 0; i < n; i++) {
          double t = 0.0;
          for (PetscInt j = 0; j < k; j++) t += W[i + j * n] * A[j + b * k];
          Y[i + b * n] = beta == 0.0 ? sqrt(var) * t : beta * Y[i + b * n] + sqrt(var) * t;
        }
      if (mlp && l > first && sb2 > 0) {
        NNLRngStreamInit(&s, (uint64_t)job->run_seed, pt->id, (uint64_t)l, NNL_PURPOSE_BIAS);
        NNLRngNormals(&s, 0, (size_t)n, Bias);
        for (PetscInt b = 0; b < m; b++)
          for (PetscInt i = 0; i < n; i++) Y[i + b * n] += sqrt(sb2) * Bias[i];
      }
      NNLActivationApply(&job->act[pt->act], (size_t)(n * m), Y, Phi);
      for (PetscInt a = 0, q = 0; a < m; a++)
        for (PetscInt b = a; b < m; b++, q++)
          want[r * np + q] = NNLDot(n, Y + a * n, Y + b * n) / (double)n;
    }
    for (int bld = 0; bld < 3; bld++) {
      NNLResult *res;
      if (NNLSimdUse(builds[bld])) continue; /* this CPU lacks it */
      assert_int_equal(NNLPointCompute(job, pt, NNL_SAMPLER_DENSE, NULL, NULL, &res), 0);
      assert_int_equal(res->status, NNL_STATUS_DONE);
      assert_int_equal(res->nrec, nlay);
      for (PetscInt r = 0; r < nlay; r++)
        for (PetscInt q = 0; q < np; q++)
          if (memcmp(&want[r * np + q], &res->gram[r * np + q], sizeof(double)))
            fail_msg(
              "%s n %d d %d, build %s, layer %d, pair %d: q = %.17g, the definition gives %.17g",
              families[f % 2], (int)n, (int)d, builds[bld], (int)res->layers[r], (int)q,
              res->gram[r * np + q], want[r * np + q]);
      NNLResultDestroy(&res);
    }
    (void)NNLSimdUse(NULL);
    free(W), free(Y), free(Phi), free(Bias), free(X), free(want);
    NNLGridDestroy(&grid);
    NNLJobDestroy(&job);
  }
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_linear_resnet_mean),
    cmocka_unit_test(test_relu_mlp_lognorm),
    cmocka_unit_test(test_mlp_layer2_nngp),
    cmocka_unit_test(test_relu_mlp_diagonal_every_layer),
    cmocka_unit_test(test_projection_equals_dense_in_law),
    cmocka_unit_test(test_relu_mlp_lognorm_per_layer),
    cmocka_unit_test(test_mlp_kurtosis_growth),
    cmocka_unit_test(test_fused_layer_bits),
    cmocka_unit_test(test_streamed_layers_bits),
    cmocka_unit_test(test_dense_layer_bits),
    cmocka_unit_test(test_deep_linear_log_domain),
    cmocka_unit_test(test_exploding_relu_bias_log_domain),
    cmocka_unit_test(test_rescale_exact),
    cmocka_unit_test(test_huge_sigma_w2),
    cmocka_unit_test(test_overflow_fails_where_it_happens),
  };
  int rc;
  if (PetscInitialize(&argc, &argv, NULL, NULL)) return 1;
  rc = cmocka_run_group_tests(tests, NULL, NULL);
  PetscFinalize();
  return rc;
}
