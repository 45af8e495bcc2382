/* The shaped ReLU's drift factor F(ρ) = sin θ − θ cos θ = √(1−ρ²) − ρθ, θ = acos ρ (MATH.md §2),
   in plain arithmetic that a loop over paths vectorises with the same bits in every simd.h build:
   shaped.c's NNLShapedReluFactor and sdelanes.c's lanes both take it from here (meta relu_drift
   in the store). libm's acos and sincos, one lane at a time, took 15 % of
   noci_2023_shaped_transformer's time. Private to src/. */
#ifndef NNLIMITS_RELUFACTOR_H
#define NNLIMITS_RELUFACTOR_H

#include <math.h>

/* asin u = u + u·z·P(z), z = u², for |u| <= ½: P's Taylor coefficients (2k)!/(4ᵏ (k!)² (2k+1)),
   k = 1…23, each the double nearest it. The first left out, k = 24, adds at most 2.35e-3 · ¼²⁴ =
   8e-18 of u (0.07 of half an ulp), the rest a third of that. */
static const double nnl_asin_taylor[23] = {0.16666666666666666,   0.075,
                                           0.044642857142857144,  0.030381944444444444,
                                           0.022372159090909092,  0.017352764423076924,
                                           0.01396484375,         0.011551800896139705,
                                           0.009761609529194078,  0.008390335809616815,
                                           0.0073125258735988454, 0.006447210311889649,
                                           0.005740037670841924,  0.005153309682319905,
                                           0.004660143486915096,  0.004240907093679363,
                                           0.003880964558837669,  0.0035692053938259347,
                                           0.003297059503473485,  0.0030578216492580306,
                                           0.002846178401108942,  0.00265787063820729,
                                           0.0024894486782468836};

/* F = θ³ Σ_k (−1)^(k+1) 2k/(2k+1)! θ^(2k−2), k = 1…10 (sin θ − θ cos θ term by term: θ³/3 − θ⁵/30
   + θ⁷/840 − …), for θ < π/3: the first left out, k = 11, adds 3·22/23!·θ²⁰ < 7e-21 of F. */
static const double nnl_relu_series[10] = {
  0.3333333333333333,     -0.03333333333333333,    0.0011904761904761906,  -2.2045855379188714e-05,
  2.505210838544172e-07,  -1.9270852604185937e-09, 1.0706029224547743e-11, -4.498331606952833e-14,
  1.4797143443923793e-16, -3.9145882126782523e-19};

/* acos ρ for ρ in [−1, 1], within about an ulp, branch-free (each side of a choice is computed), so
   that a loop over lanes calling it vectorises:
   - |ρ| <= ½: θ = π/2 − asin ρ, with π/2 as a double and its remainder;
   - ρ > ½: θ = 2 asin u, u = √((1−ρ)/2) (1 − ρ exact), so θ keeps its relative digits as ρ → 1;
   - ρ < −½: θ = π − 2 asin u, u = √((1+ρ)/2). */
static inline __attribute__((always_inline)) double NNLAcosInline(double rho)
{
  const double pio2_hi = 1.5707963267948966, pio2_lo = 6.123233995736766e-17;
  const double pi_hi = 3.141592653589793, pi_lo = 1.2246467991473532e-16;
  const double a = fabs(rho), u = a > 0.5 ? sqrt((1 - a) * 0.5) : rho, z = u * u;
  double       p = nnl_asin_taylor[22], as;

#pragma GCC unroll 24
  for (int k = 21; k >= 0; k--) p = nnl_asin_taylor[k] + z * p;
  as = u + u * (z * p);
  return a <= 0.5 ? pio2_hi - (as - pio2_lo) : rho > 0 ? 2 * as : pi_hi - (2 * as - pi_lo);
}

/* F(ρ) for ρ in [−1, 1] (F(1) = +0, F(−1) = π), branch-free as NNLAcosInline: the series in θ where
   ρ > ½ (θ < π/3), which keeps F's digits near ρ = 1 where √(1−ρ²) and ρθ cancel (to θ³/3: libm's
   sin θ − θ cos θ kept ~8 digits at θ = 10⁻⁴, none at ρ = 1 − 10⁻¹⁶), and √((1−ρ)(1+ρ)) − ρθ
   elsewhere (F >= F(½) = 0.34 there: at most a factor 2.5 lost to cancellation). Within a few ulps
   of a long double reference (tests/test_sde_laws.c, relu_factor_accuracy). No fused multiply-adds
   (CMakeLists.txt), so the same bits in a vector lane as in a scalar call. */
static inline __attribute__((always_inline)) double NNLReluFactorInline(double rho)
{
  const double th = NNLAcosInline(rho), t2 = th * th;
  double       s = nnl_relu_series[9];

#pragma GCC unroll 12
  for (int k = 8; k >= 0; k--) s = nnl_relu_series[k] + t2 * s;
  return rho > 0.5 ? th * t2 * s : sqrt((1 - rho) * (1 + rho)) - rho * th;
}

#endif
