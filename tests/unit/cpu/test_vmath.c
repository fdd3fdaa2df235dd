#include <math.h>

#include "cpu/vmath.h"
#include "ei_test.h"

/* The vector exp/sigmoid/SiLU against libm over the whole useful range, extremes included. */
static void test_against_libm(void) {
    enum { N = 200003 }; /* odd: exercises the scalar tail */
    static float x[N], e[N], s[N], si[N];
    for (int i = 0; i < N; i++) {
        x[i] = -100.0f + 200.0f * (float)i / (float)(N - 1);
        e[i] = s[i] = si[i] = x[i];
    }
    ei_vec_exp(e, N);
    ei_vec_sigmoid(s, N);
    ei_vec_silu(si, N);
    double worst_exp = 0, worst_sig = 0, worst_silu = 0;
    for (int i = 0; i < N; i++) {
        double xe = exp((double)x[i]);
        if (x[i] > -87.0f && x[i] < 88.0f) worst_exp = fmax(worst_exp, fabs(e[i] - xe) / xe);
        double sg = 1.0 / (1.0 + exp(-(double)x[i]));
        worst_sig = fmax(worst_sig, fabs(s[i] - sg) / fmax(sg, 1e-30));
        worst_silu = fmax(worst_silu, fabs(si[i] - x[i] * sg) / fmax(fabs(x[i] * sg), 1e-30));
        if (!isfinite(s[i]) || !isfinite(si[i])) ei_test_failures++;
    }
    printf("max relative error: exp %.2e, sigmoid %.2e, silu %.2e\n", worst_exp, worst_sig, worst_silu);
    EI_CHECK(worst_exp < 1e-6);
    EI_CHECK(worst_sig < 1e-6);
    EI_CHECK(worst_silu < 1e-5);
    EI_CHECK(s[0] >= 0.0f && s[0] < 1e-37f);           /* sigmoid(-100) ~ 0 */
    EI_CHECK(s[N - 1] == 1.0f && si[N - 1] == 100.0f); /* saturates exactly */
}

int main(void) {
    EI_RUN(test_against_libm);
    EI_TEST_EXIT();
}
