// quant.c — tensor types (ggml ids, block layouts), fp16/bf16 conversion, the scalar reference
// kernels (dequantize, reference quantizers, dot products) and the runtime SIMD dispatch.
//
// Formats (x = dequantized value, q = stored integer, per block of 32 or super-block of 256):
//   Q4_0  x = d*(q-8),  q in 0..15          Q4_1  x = d*q + m,  q in 0..15
//   Q5_0  x = d*(q-16), q in 0..31          Q5_1  x = d*q + m,  q in 0..31   (5th bit in qh)
//   Q8_0  x = d*q, q in -127..127           Q8_1  same + s = d*sum(q)
//   Q4_K  8 sub-blocks of 32: x = d*sc_j*q - dmin*m_j, q 4 bit, sc/m 6 bit
//   Q5_K  same with 5-bit q               Q6_K  16 sub-blocks of 16: x = d*sc_j*(q-32), q 6 bit
//   Q8_K  x = d*q (f32 d), bsums = sums of 16 consecutive q (activations of the K-quants)
#include "ss_quant.h"
#include <math.h>
#include <string.h>
#include <float.h>

// ---------------------------------------------------------------------------------------------
// type table (ggml_type ids; sizes from ggml's block structs)

static const ss_type_info_t ss_types[SS_TYPE_COUNT] = {
    [0]  = {"f32",     1,   4,   true},
    [1]  = {"f16",     1,   2,   true},
    [2]  = {"q4_0",    32,  18,  true},
    [3]  = {"q4_1",    32,  20,  true},
    [6]  = {"q5_0",    32,  22,  true},
    [7]  = {"q5_1",    32,  24,  true},
    [8]  = {"q8_0",    32,  34,  true},
    [9]  = {"q8_1",    32,  36,  false},   // activation type
    [10] = {"q2_K",    256, 84,  false},
    [11] = {"q3_K",    256, 110, false},
    [12] = {"q4_K",    256, 144, true},
    [13] = {"q5_K",    256, 176, true},
    [14] = {"q6_K",    256, 210, true},
    [15] = {"q8_K",    256, 292, false},   // activation type
    [16] = {"iq2_xxs", 256, 66,  false},
    [17] = {"iq2_xs",  256, 74,  false},
    [18] = {"iq3_xxs", 256, 98,  false},
    [19] = {"iq1_s",   256, 50,  false},
    [20] = {"iq4_nl",  32,  18,  false},
    [21] = {"iq3_s",   256, 110, false},
    [22] = {"iq2_s",   256, 82,  false},
    [23] = {"iq4_xs",  256, 136, false},
    [24] = {"i8",      1,   1,   false},
    [25] = {"i16",     1,   2,   false},
    [26] = {"i32",     1,   4,   false},
    [27] = {"i64",     1,   8,   false},
    [28] = {"f64",     1,   8,   false},
    [29] = {"iq1_m",   256, 56,  false},
    [30] = {"bf16",    1,   2,   true},
    [34] = {"tq1_0",   256, 54,  false},
    [35] = {"tq2_0",   256, 66,  false},
    [39] = {"mxfp4",   32,  17,  false},
};

const ss_type_info_t *ss_type_info(uint32_t type) {
    if (type >= SS_TYPE_COUNT || !ss_types[type].name) return NULL;
    return &ss_types[type];
}

bool ss_type_supported(uint32_t type) {
    const ss_type_info_t *t = ss_type_info(type);
    return t && t->supported;
}

const char *ss_type_name(uint32_t type) {
    const ss_type_info_t *t = ss_type_info(type);
    return t ? t->name : "?";
}

size_t ss_row_size(uint32_t type, int64_t n) {
    const ss_type_info_t *t = ss_type_info(type);
    if (!t || n < 0) return 0;
    return (size_t)(n / t->blck) * t->type_size;
}

// ---------------------------------------------------------------------------------------------
// half / bfloat16 (bit manipulation, round to nearest even; after F. Giesen's half<->float)

static inline uint32_t f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

float ss_fp16_to_fp32(uint16_t h) {
    const uint32_t shifted_exp = 0x7c00u << 13;
    uint32_t o = (uint32_t)(h & 0x7fff) << 13;     // exponent + mantissa bits
    uint32_t exp = shifted_exp & o;
    o += (127 - 15) << 23;                         // rebias exponent
    if (exp == shifted_exp) {
        o += (128 - 16) << 23;                     // Inf / NaN
    } else if (exp == 0) {                         // zero / subnormal: renormalize via float math
        o += 1 << 23;
        o = f2u(u2f(o) - u2f(113u << 23));
    }
    return u2f(o | ((uint32_t)(h & 0x8000) << 16));
}

uint16_t ss_fp32_to_fp16(float f) {
    uint32_t u = f2u(f);
    uint32_t sign = u & 0x80000000u;
    u ^= sign;
    uint16_t o;
    if (u >= (127u + 16) << 23) {                  // >= 65536, Inf or NaN
        o = u > 0x7f800000u ? 0x7e00 : 0x7c00;
    } else if (u < 113u << 23) {                   // result is subnormal or zero
        const uint32_t magic = ((127 - 15) + (23 - 10) + 1) << 23;   // 0.5: aligns the mantissa
        o = (uint16_t)(f2u(u2f(u) + u2f(magic)) - magic);
    } else {
        uint32_t mant_odd = (u >> 13) & 1;
        u += ((uint32_t)(15 - 127) << 23) + 0xfff; // rebias, round half ...
        u += mant_odd;                             // ... to even
        o = (uint16_t)(u >> 13);                   // may carry into Inf for values >= 65520
    }
    return (uint16_t)(o | (sign >> 16));
}

float ss_bf16_to_fp32(uint16_t h) { return u2f((uint32_t)h << 16); }

uint16_t ss_fp32_to_bf16(float f) {
    uint32_t u = f2u(f);
    if ((u & 0x7fffffff) > 0x7f800000) return (uint16_t)((u >> 16) | 64);   // quiet NaN
    return (uint16_t)((u + (0x7fff + ((u >> 16) & 1))) >> 16);
}

#define H2F(h) ss_fp16_to_fp32(h)
#define F2H(f) ss_fp32_to_fp16(f)

// round to nearest, ties to even (ggml's nearest_int, valid for |x| < 2^22)
static inline int nearest_int(float fval) {
    float val = fval + 12582912.f;
    int i; memcpy(&i, &val, 4);
    return (i & 0x007fffff) - 0x00400000;
}

// ---------------------------------------------------------------------------------------------
// dequantization: y[n] = dequant(x)

static void dequant_q4_0(const ss_block_q4_0 *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += SS_QK) {
        const float d = H2F(x[i].d);
        for (int j = 0; j < 16; j++) {
            y[j]      = d * ((x[i].qs[j] & 0xF) - 8);
            y[j + 16] = d * ((x[i].qs[j] >> 4) - 8);
        }
    }
}

static void dequant_q4_1(const ss_block_q4_1 *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += SS_QK) {
        const float d = H2F(x[i].d), m = H2F(x[i].m);
        for (int j = 0; j < 16; j++) {
            y[j]      = d * (x[i].qs[j] & 0xF) + m;
            y[j + 16] = d * (x[i].qs[j] >> 4) + m;
        }
    }
}

// 5th bit of element j (0..31) is bit j of the little-endian uint32 qh
static inline uint32_t load_qh(const uint8_t qh[4]) {
    return (uint32_t)qh[0] | (uint32_t)qh[1] << 8 | (uint32_t)qh[2] << 16 | (uint32_t)qh[3] << 24;
}

static void dequant_q5_0(const ss_block_q5_0 *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += SS_QK) {
        const float d = H2F(x[i].d);
        const uint32_t qh = load_qh(x[i].qh);
        for (int j = 0; j < 16; j++) {
            int q0 = (x[i].qs[j] & 0xF) | ((qh >> j) & 1) << 4;
            int q1 = (x[i].qs[j] >> 4) | ((qh >> (j + 16)) & 1) << 4;
            y[j]      = d * (q0 - 16);
            y[j + 16] = d * (q1 - 16);
        }
    }
}

static void dequant_q5_1(const ss_block_q5_1 *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += SS_QK) {
        const float d = H2F(x[i].d), m = H2F(x[i].m);
        const uint32_t qh = load_qh(x[i].qh);
        for (int j = 0; j < 16; j++) {
            int q0 = (x[i].qs[j] & 0xF) | ((qh >> j) & 1) << 4;
            int q1 = (x[i].qs[j] >> 4) | ((qh >> (j + 16)) & 1) << 4;
            y[j]      = d * q0 + m;
            y[j + 16] = d * q1 + m;
        }
    }
}

static void dequant_q8_0(const ss_block_q8_0 *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += SS_QK) {
        const float d = H2F(x[i].d);
        for (int j = 0; j < SS_QK; j++) y[j] = d * x[i].qs[j];
    }
}

static void dequant_q8_1(const ss_block_q8_1 *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += SS_QK) {
        const float d = H2F(x[i].d);
        for (int j = 0; j < SS_QK; j++) y[j] = d * x[i].qs[j];
    }
}

// Q4_K: the 128 bytes hold 4 groups of 64 values: low nibbles = sub-block 2g, high = 2g+1
static void dequant_q4_K(const ss_block_q4_K *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const float d = H2F(x[i].d), dmin = H2F(x[i].dmin);
        const uint8_t *q = x[i].qs;
        for (int g = 0; g < 4; g++, q += 32) {
            uint8_t sc, m;
            ss_get_scale_min_k4(2 * g, x[i].scales, &sc, &m);
            const float d1 = d * sc, m1 = dmin * m;
            ss_get_scale_min_k4(2 * g + 1, x[i].scales, &sc, &m);
            const float d2 = d * sc, m2 = dmin * m;
            for (int l = 0; l < 32; l++) *y++ = d1 * (q[l] & 0xF) - m1;
            for (int l = 0; l < 32; l++) *y++ = d2 * (q[l] >> 4) - m2;
        }
    }
}

// Q5_K: like Q4_K; the 5th bit of value l of sub-block j is bit j of qh[l]
static void dequant_q5_K(const ss_block_q5_K *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const float d = H2F(x[i].d), dmin = H2F(x[i].dmin);
        const uint8_t *ql = x[i].qs, *qh = x[i].qh;
        for (int g = 0; g < 4; g++, ql += 32) {
            uint8_t sc, m;
            ss_get_scale_min_k4(2 * g, x[i].scales, &sc, &m);
            const float d1 = d * sc, m1 = dmin * m;
            ss_get_scale_min_k4(2 * g + 1, x[i].scales, &sc, &m);
            const float d2 = d * sc, m2 = dmin * m;
            const uint8_t u1 = (uint8_t)(1 << (2 * g)), u2 = (uint8_t)(2 << (2 * g));
            for (int l = 0; l < 32; l++) *y++ = d1 * ((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
            for (int l = 0; l < 32; l++) *y++ = d2 * ((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
        }
    }
}

// Q6_K value k of a super-block, as the integer q-32 in -32..31, and its sub-block (of 16)
// Layout: two halves of 128; in a half, l = 0..31 gives values l, l+32, l+64, l+96 from
// ql[l] (low nibble / high nibble), ql[l+32] (low / high) and the 2-bit pairs of qh[l].
static void dequant_q6_K(const ss_block_q6_K *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const float d = H2F(x[i].d);
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        const int8_t *sc = x[i].scales;
        for (int h = 0; h < 2; h++, y += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                int q1 = ((ql[l] & 0xF)      | ((qh[l] >> 0) & 3) << 4) - 32;
                int q2 = ((ql[l + 32] & 0xF) | ((qh[l] >> 2) & 3) << 4) - 32;
                int q3 = ((ql[l] >> 4)       | ((qh[l] >> 4) & 3) << 4) - 32;
                int q4 = ((ql[l + 32] >> 4)  | ((qh[l] >> 6) & 3) << 4) - 32;
                y[l]      = d * sc[is + 0] * q1;
                y[l + 32] = d * sc[is + 2] * q2;
                y[l + 64] = d * sc[is + 4] * q3;
                y[l + 96] = d * sc[is + 6] * q4;
            }
        }
    }
}

static void dequant_q8_K(const ss_block_q8_K *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += SS_QK_K)
        for (int j = 0; j < SS_QK_K; j++) y[j] = x[i].d * x[i].qs[j];
}

void ss_dequant_row(uint32_t type, const void *x, float *y, int64_t n) {
    switch (type) {
    case SS_TYPE_F32:  memcpy(y, x, (size_t)n * sizeof(float)); break;
    case SS_TYPE_F16:  { const uint16_t *h = x; for (int64_t i = 0; i < n; i++) y[i] = H2F(h[i]); } break;
    case SS_TYPE_BF16: { const uint16_t *h = x; for (int64_t i = 0; i < n; i++) y[i] = ss_bf16_to_fp32(h[i]); } break;
    case SS_TYPE_Q4_0: dequant_q4_0(x, y, n / SS_QK); break;
    case SS_TYPE_Q4_1: dequant_q4_1(x, y, n / SS_QK); break;
    case SS_TYPE_Q5_0: dequant_q5_0(x, y, n / SS_QK); break;
    case SS_TYPE_Q5_1: dequant_q5_1(x, y, n / SS_QK); break;
    case SS_TYPE_Q8_0: dequant_q8_0(x, y, n / SS_QK); break;
    case SS_TYPE_Q8_1: dequant_q8_1(x, y, n / SS_QK); break;
    case SS_TYPE_Q4_K: dequant_q4_K(x, y, n / SS_QK_K); break;
    case SS_TYPE_Q5_K: dequant_q5_K(x, y, n / SS_QK_K); break;
    case SS_TYPE_Q6_K: dequant_q6_K(x, y, n / SS_QK_K); break;
    case SS_TYPE_Q8_K: dequant_q8_K(x, y, n / SS_QK_K); break;
    default: memset(y, 0, (size_t)n * sizeof(float)); break;   // unsupported: callers check first
    }
}

// ---------------------------------------------------------------------------------------------
// reference quantizers (ggml's quantize_row_*_ref algorithms)

static void quant_q4_0(const float *x, ss_block_q4_0 *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += SS_QK) {
        float amax = 0, max = 0;                   // value of largest magnitude, with its sign
        for (int j = 0; j < SS_QK; j++)
            if (amax < fabsf(x[j])) { amax = fabsf(x[j]); max = x[j]; }
        const float d = max / -8, id = d ? 1.0f / d : 0.0f;
        y[i].d = F2H(d);
        for (int j = 0; j < 16; j++) {
            int q0 = (int8_t)(x[j] * id + 8.5f), q1 = (int8_t)(x[j + 16] * id + 8.5f);
            q0 = q0 < 15 ? q0 : 15; q1 = q1 < 15 ? q1 : 15;
            y[i].qs[j] = (uint8_t)(q0 | q1 << 4);
        }
    }
}

static void quant_q4_1(const float *x, ss_block_q4_1 *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += SS_QK) {
        float min = FLT_MAX, max = -FLT_MAX;
        for (int j = 0; j < SS_QK; j++) { if (x[j] < min) min = x[j]; if (x[j] > max) max = x[j]; }
        const float d = (max - min) / 15, id = d ? 1.0f / d : 0.0f;
        y[i].d = F2H(d); y[i].m = F2H(min);
        for (int j = 0; j < 16; j++) {
            int q0 = (int8_t)((x[j] - min) * id + 0.5f), q1 = (int8_t)((x[j + 16] - min) * id + 0.5f);
            q0 = q0 < 15 ? q0 : 15; q1 = q1 < 15 ? q1 : 15;
            y[i].qs[j] = (uint8_t)(q0 | q1 << 4);
        }
    }
}

static void quant_q5_0(const float *x, ss_block_q5_0 *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += SS_QK) {
        float amax = 0, max = 0;
        for (int j = 0; j < SS_QK; j++)
            if (amax < fabsf(x[j])) { amax = fabsf(x[j]); max = x[j]; }
        const float d = max / -16, id = d ? 1.0f / d : 0.0f;
        y[i].d = F2H(d);
        uint32_t qh = 0;
        for (int j = 0; j < 16; j++) {
            int q0 = (int8_t)(x[j] * id + 16.5f), q1 = (int8_t)(x[j + 16] * id + 16.5f);
            q0 = q0 < 31 ? q0 : 31; q1 = q1 < 31 ? q1 : 31;
            y[i].qs[j] = (uint8_t)((q0 & 0xF) | (q1 & 0xF) << 4);
            qh |= (uint32_t)((q0 & 0x10) >> 4) << j;
            qh |= (uint32_t)((q1 & 0x10) >> 4) << (j + 16);
        }
        for (int k = 0; k < 4; k++) y[i].qh[k] = (uint8_t)(qh >> (8 * k));
    }
}

static void quant_q5_1(const float *x, ss_block_q5_1 *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += SS_QK) {
        float min = FLT_MAX, max = -FLT_MAX;
        for (int j = 0; j < SS_QK; j++) { if (x[j] < min) min = x[j]; if (x[j] > max) max = x[j]; }
        const float d = (max - min) / 31, id = d ? 1.0f / d : 0.0f;
        y[i].d = F2H(d); y[i].m = F2H(min);
        uint32_t qh = 0;
        for (int j = 0; j < 16; j++) {
            int q0 = (uint8_t)((x[j] - min) * id + 0.5f), q1 = (uint8_t)((x[j + 16] - min) * id + 0.5f);
            y[i].qs[j] = (uint8_t)((q0 & 0xF) | (q1 & 0xF) << 4);
            qh |= (uint32_t)((q0 & 0x10) >> 4) << j;
            qh |= (uint32_t)((q1 & 0x10) >> 4) << (j + 16);
        }
        for (int k = 0; k < 4; k++) y[i].qh[k] = (uint8_t)(qh >> (8 * k));
    }
}

// Q8_0 reference: d = amax/127, q = roundf(x/d) (ties away from zero)
static void quant_q8_0_ref(const float *x, ss_block_q8_0 *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += SS_QK) {
        float amax = 0;
        for (int j = 0; j < SS_QK; j++) amax = fmaxf(amax, fabsf(x[j]));
        const float d = amax / 127, id = d ? 1.0f / d : 0.0f;
        y[i].d = F2H(d);
        for (int j = 0; j < SS_QK; j++) y[i].qs[j] = (int8_t)roundf(x[j] * id);
    }
}

static void quant_q8_1_ref(const float *x, ss_block_q8_1 *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += SS_QK) {
        float amax = 0;
        for (int j = 0; j < SS_QK; j++) amax = fmaxf(amax, fabsf(x[j]));
        const float d = amax / 127, id = d ? 1.0f / d : 0.0f;
        int sum = 0;
        for (int j = 0; j < SS_QK; j++) { y[i].qs[j] = (int8_t)roundf(x[j] * id); sum += y[i].qs[j]; }
        y[i].d = F2H(d); y[i].s = F2H(sum * d);
    }
}

// Q8_0 / Q8_1 as ggml's AVX2 quantize_row_q8_0/q8_1 (the activation path of llama.cpp on x86):
// id = 127/amax, q = round-half-even(x*id). The SIMD kernel computes exactly this.
static void quant_q8_0_act(const float *x, ss_block_q8_0 *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += SS_QK) {
        float amax = 0;
        for (int j = 0; j < SS_QK; j++) amax = fmaxf(amax, fabsf(x[j]));
        const float d = amax / 127.f, id = amax != 0.0f ? 127.f / amax : 0.0f;
        y[i].d = F2H(d);
        for (int j = 0; j < SS_QK; j++) y[i].qs[j] = (int8_t)nearbyintf(x[j] * id);
    }
}

static void quant_q8_1_act(const float *x, ss_block_q8_1 *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += SS_QK) {
        float amax = 0;
        for (int j = 0; j < SS_QK; j++) amax = fmaxf(amax, fabsf(x[j]));
        const float d = amax / 127.f, id = amax != 0.0f ? 127.f / amax : 0.0f;
        int sum = 0;
        for (int j = 0; j < SS_QK; j++) { y[i].qs[j] = (int8_t)nearbyintf(x[j] * id); sum += y[i].qs[j]; }
        y[i].d = F2H(d); y[i].s = F2H((float)sum * d);
    }
}

// Q8_K: d = -max/127 where max is the value of largest magnitude (so q(max) = -127... sign
// folded into d), q = nearest_int(x/d) clamped to 127, bsums = sums of 16.
static void quant_q8_K(const float *x, ss_block_q8_K *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += SS_QK_K) {
        float max = 0, amax = 0;
        for (int j = 0; j < SS_QK_K; j++)
            if (fabsf(x[j]) > amax) { amax = fabsf(x[j]); max = x[j]; }
        if (amax == 0) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        const float iscale = -127.f / max;
        for (int j = 0; j < SS_QK_K; j++) {
            int v = nearest_int(iscale * x[j]);
            y[i].qs[j] = (int8_t)(v < 127 ? v : 127);
        }
        for (int j = 0; j < SS_QK_K / 16; j++) {
            int sum = 0;
            for (int k = 0; k < 16; k++) sum += y[i].qs[j * 16 + k];
            y[i].bsums[j] = (int16_t)sum;
        }
        y[i].d = 1 / iscale;
    }
}

#define GROUP_MAX_EPS 1e-15f

// Fit x ≈ scale*L + min (L in 0..nmax, min <= 0) minimizing the weighted squared error: start
// from the min/max grid, then try nstep+1 grid scalings and keep the best least-squares fit.
// Returns scale, stores -min in *the_min. (ggml's make_qkx2_quants with use_mad = false.)
static float make_qkx2_quants(int n, int nmax, const float *x, const float *weights, uint8_t *L,
                              float *the_min, uint8_t *Laux, float rmin, float rdelta, int nstep) {
    float min = x[0], max = x[0];
    float sum_w = weights[0], sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        float w = weights[i];
        sum_w += w;
        sum_x += w * x[i];
    }
    if (min > 0) min = 0;
    if (max == min) {
        memset(L, 0, (size_t)n);
        *the_min = -min;
        return 0.f;
    }
    float iscale = nmax / (max - min);
    float scale = 1 / iscale;
    float best_error = 0;
    for (int i = 0; i < n; i++) {
        int l = nearest_int(iscale * (x[i] - min));
        L[i] = (uint8_t)(l < 0 ? 0 : l > nmax ? nmax : l);
        float diff = scale * L[i] + min - x[i];
        best_error += weights[i] * diff * diff;
    }
    if (nstep < 1) {
        *the_min = -min;
        return scale;
    }
    for (int is = 0; is <= nstep; is++) {
        iscale = (rmin + rdelta * is + nmax) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; i++) {
            int l = nearest_int(iscale * (x[i] - min));
            l = l < 0 ? 0 : l > nmax ? nmax : l;
            Laux[i] = (uint8_t)l;
            float w = weights[i];
            sum_l += w * l;
            sum_l2 += w * l * l;
            sum_xl += w * l * x[i];
        }
        float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min   = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            if (this_min > 0) {
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            float cur_error = 0;
            for (int i = 0; i < n; i++) {
                float diff = this_scale * Laux[i] + this_min - x[i];
                cur_error += weights[i] * diff * diff;
            }
            if (cur_error < best_error) {
                memcpy(L, Laux, (size_t)n);
                best_error = cur_error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *the_min = -min;
    return scale;
}

// Fit x ≈ scale*(L - nmax), L in 0..2*nmax-1, weights w = x^2 (rmse_type 1): start from
// -nmax/max and try 18 nearby scalings, keeping the best least-squares fit. (make_qx_quants)
static float make_qx_quants(int n, int nmax, const float *x, int8_t *L) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; i++) {
        float ax = fabsf(x[i]);
        if (ax > amax) { amax = ax; max = x[i]; }
    }
    if (amax < GROUP_MAX_EPS) {
        memset(L, 0, (size_t)n);
        return 0.f;
    }
    float iscale = -nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = nearest_int(iscale * x[i]);
        l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
        L[i] = (int8_t)(l + nmax);
        float w = x[i] * x[i];
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    float scale = suml2 ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; is++) {
        if (is == 0) continue;
        iscale = -(nmax + 0.1f * is) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; i++) {
            int l = nearest_int(iscale * x[i]);
            l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
            float w = x[i] * x[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; i++) {
                int l = nearest_int(iscale * x[i]);
                L[i] = (int8_t)(nmax + (l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l));
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

// pack 8 (scale, min) pairs of 6 bits into the 12-byte Q4_K/Q5_K scales array
static void pack_scale_min_k4(uint8_t s[12], const uint8_t ls[8], const uint8_t lm[8]) {
    for (int j = 0; j < 8; j++) {
        if (j < 4) {
            s[j] = ls[j];
            s[j + 4] = lm[j];
        } else {
            s[j + 4] = (uint8_t)((ls[j] & 0xF) | (lm[j] & 0xF) << 4);
            s[j - 4] |= (uint8_t)((ls[j] >> 4) << 6);
            s[j - 0] |= (uint8_t)((lm[j] >> 4) << 6);
        }
    }
}

// shared part of Q4_K / Q5_K: per sub-block of 32 fit (scale, min), quantize the 8 scales and
// mins to 6 bits against d = max_scale/63, dmin = max_min/63, then requantize the values
// against the rounded scales. L gets the final q (0..nmax) of the 256 values.
static void quant_kx_super(const float *x, int nmax, float rmin, int nstep, uint16_t *dd,
                           uint16_t *ddmin, uint8_t scales12[12], uint8_t L[256]) {
    uint8_t Laux[32];
    float weights[32], mins[8], scales[8];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < 8; j++) {
        const float *xs = x + 32 * j;
        float sum_x2 = 0;
        for (int l = 0; l < 32; l++) sum_x2 += xs[l] * xs[l];
        float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; l++) weights[l] = av_x + fabsf(xs[l]);
        scales[j] = make_qkx2_quants(32, nmax, xs, weights, L + 32 * j, &mins[j], Laux, rmin, 0.1f, nstep);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    float inv_min   = max_min   > 0 ? 63.f / max_min   : 0.f;
    uint8_t ls[8], lm[8];
    for (int j = 0; j < 8; j++) {
        int a = nearest_int(inv_scale * scales[j]), b = nearest_int(inv_min * mins[j]);
        ls[j] = (uint8_t)(a < 63 ? a : 63);
        lm[j] = (uint8_t)(b < 63 ? b : 63);
    }
    memset(scales12, 0, 12);
    pack_scale_min_k4(scales12, ls, lm);
    *dd = F2H(max_scale / 63.f);
    *ddmin = F2H(max_min / 63.f);
    for (int j = 0; j < 8; j++) {
        uint8_t sc, m;
        ss_get_scale_min_k4(j, scales12, &sc, &m);
        const float d = H2F(*dd) * sc;
        if (!d) continue;
        const float dm = H2F(*ddmin) * m;
        for (int l = 0; l < 32; l++) {
            int q = nearest_int((x[32 * j + l] + dm) / d);
            L[32 * j + l] = (uint8_t)(q < 0 ? 0 : q > nmax ? nmax : q);
        }
    }
}

static void quant_q4_K(const float *x, ss_block_q4_K *y, int64_t nb) {
    uint8_t L[SS_QK_K];
    for (int64_t i = 0; i < nb; i++, x += SS_QK_K) {
        quant_kx_super(x, 15, -1.f, 20, &y[i].d, &y[i].dmin, y[i].scales, L);
        uint8_t *q = y[i].qs;
        for (int j = 0; j < SS_QK_K; j += 64, q += 32)
            for (int l = 0; l < 32; l++) q[l] = (uint8_t)(L[j + l] | L[j + l + 32] << 4);
    }
}

static void quant_q5_K(const float *x, ss_block_q5_K *y, int64_t nb) {
    uint8_t L[SS_QK_K];
    for (int64_t i = 0; i < nb; i++, x += SS_QK_K) {
        quant_kx_super(x, 31, -0.5f, 15, &y[i].d, &y[i].dmin, y[i].scales, L);
        uint8_t *qh = y[i].qh, *ql = y[i].qs;
        memset(qh, 0, 32);
        uint8_t m1 = 1, m2 = 2;
        for (int n = 0; n < SS_QK_K; n += 64, ql += 32, m1 <<= 2, m2 <<= 2) {
            for (int j = 0; j < 32; j++) {
                int l1 = L[n + j], l2 = L[n + j + 32];
                if (l1 > 15) { l1 -= 16; qh[j] |= m1; }
                if (l2 > 15) { l2 -= 16; qh[j] |= m2; }
                ql[j] = (uint8_t)(l1 | l2 << 4);
            }
        }
    }
}

static void quant_q6_K(const float *x, ss_block_q6_K *y, int64_t nb) {
    int8_t L[SS_QK_K];
    float scales[16];
    for (int64_t i = 0; i < nb; i++, x += SS_QK_K) {
        float max_scale = 0, max_abs_scale = 0;
        for (int ib = 0; ib < 16; ib++) {
            scales[ib] = make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib);
            if (fabsf(scales[ib]) > max_abs_scale) { max_abs_scale = fabsf(scales[ib]); max_scale = scales[ib]; }
        }
        if (max_abs_scale < GROUP_MAX_EPS) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        float iscale = -128.f / max_scale;
        y[i].d = F2H(1 / iscale);
        for (int ib = 0; ib < 16; ib++) {
            int s = nearest_int(iscale * scales[ib]);
            y[i].scales[ib] = (int8_t)(s < 127 ? s : 127);
        }
        for (int j = 0; j < 16; j++) {
            const float d = H2F(y[i].d) * y[i].scales[j];
            if (!d) continue;
            for (int ii = 0; ii < 16; ii++) {
                int l = nearest_int(x[16 * j + ii] / d);
                l = l < -32 ? -32 : l > 31 ? 31 : l;
                L[16 * j + ii] = (int8_t)(l + 32);
            }
        }
        uint8_t *ql = y[i].ql, *qh = y[i].qh;
        for (int j = 0; j < SS_QK_K; j += 128, ql += 64, qh += 32) {
            for (int l = 0; l < 32; l++) {
                int q1 = L[j + l] & 0xF, q2 = L[j + l + 32] & 0xF;
                int q3 = L[j + l + 64] & 0xF, q4 = L[j + l + 96] & 0xF;
                ql[l] = (uint8_t)(q1 | q3 << 4);
                ql[l + 32] = (uint8_t)(q2 | q4 << 4);
                qh[l] = (uint8_t)((L[j + l] >> 4) | (L[j + l + 32] >> 4) << 2 |
                                  (L[j + l + 64] >> 4) << 4 | (L[j + l + 96] >> 4) << 6);
            }
        }
    }
}

void ss_quant_row(uint32_t type, const float *x, void *y, int64_t n) {
    switch (type) {
    case SS_TYPE_F32:  memcpy(y, x, (size_t)n * sizeof(float)); break;
    case SS_TYPE_F16:  { uint16_t *h = y; for (int64_t i = 0; i < n; i++) h[i] = F2H(x[i]); } break;
    case SS_TYPE_BF16: { uint16_t *h = y; for (int64_t i = 0; i < n; i++) h[i] = ss_fp32_to_bf16(x[i]); } break;
    case SS_TYPE_Q4_0: quant_q4_0(x, y, n / SS_QK); break;
    case SS_TYPE_Q4_1: quant_q4_1(x, y, n / SS_QK); break;
    case SS_TYPE_Q5_0: quant_q5_0(x, y, n / SS_QK); break;
    case SS_TYPE_Q5_1: quant_q5_1(x, y, n / SS_QK); break;
    case SS_TYPE_Q8_0: quant_q8_0_ref(x, y, n / SS_QK); break;
    case SS_TYPE_Q8_1: quant_q8_1_ref(x, y, n / SS_QK); break;
    case SS_TYPE_Q4_K: quant_q4_K(x, y, n / SS_QK_K); break;
    case SS_TYPE_Q5_K: quant_q5_K(x, y, n / SS_QK_K); break;
    case SS_TYPE_Q6_K: quant_q6_K(x, y, n / SS_QK_K); break;
    case SS_TYPE_Q8_K: quant_q8_K(x, y, n / SS_QK_K); break;
    default: break;
    }
}

float ss_dot_ref(uint32_t type, const void *w, const float *x, int64_t n) {
    const ss_type_info_t *t = ss_type_info(type);
    if (!t || (!t->supported && type != SS_TYPE_Q8_1 && type != SS_TYPE_Q8_K)) return 0.0f;
    float buf[SS_QK_K];
    const int64_t chunk = t->blck == 1 ? SS_QK_K : t->blck;    // elements per dequant step
    const size_t chunk_bytes = (size_t)(chunk / t->blck) * t->type_size;
    const uint8_t *p = w;
    double sum = 0;
    for (int64_t i = 0; i < n; i += chunk, p += chunk_bytes) {
        int64_t m = n - i < chunk ? n - i : chunk;
        ss_dequant_row(type, p, buf, m);
        for (int64_t j = 0; j < m; j++) sum += (double)buf[j] * x[i + j];
    }
    return (float)sum;
}

// ---------------------------------------------------------------------------------------------
// scalar dot products: integer sums per block, then scaled (ggml's generic vec_dot kernels)

static float dot_q4_0_q8_0(int64_t nb, const ss_block_q4_0 *x, const ss_block_q8_0 *y) {
    float sumf = 0;
    for (int64_t i = 0; i < nb; i++) {
        int sumi = 0;
        for (int j = 0; j < 16; j++)
            sumi += ((x[i].qs[j] & 0xF) - 8) * y[i].qs[j] + ((x[i].qs[j] >> 4) - 8) * y[i].qs[j + 16];
        sumf += sumi * (H2F(x[i].d) * H2F(y[i].d));
    }
    return sumf;
}

// sum_j (d q_j + m) * dy qy_j = d*dy*sum(q qy) + m * (dy*sum(qy)) = ... + m*s
static float dot_q4_1_q8_1(int64_t nb, const ss_block_q4_1 *x, const ss_block_q8_1 *y) {
    float sumf = 0;
    for (int64_t i = 0; i < nb; i++) {
        int sumi = 0;
        for (int j = 0; j < 16; j++)
            sumi += (x[i].qs[j] & 0xF) * y[i].qs[j] + (x[i].qs[j] >> 4) * y[i].qs[j + 16];
        sumf += sumi * (H2F(x[i].d) * H2F(y[i].d)) + H2F(x[i].m) * H2F(y[i].s);
    }
    return sumf;
}

static float dot_q5_0_q8_0(int64_t nb, const ss_block_q5_0 *x, const ss_block_q8_0 *y) {
    float sumf = 0;
    for (int64_t i = 0; i < nb; i++) {
        const uint32_t qh = load_qh(x[i].qh);
        int sumi = 0;
        for (int j = 0; j < 16; j++) {
            int q0 = ((x[i].qs[j] & 0xF) | ((qh >> j) & 1) << 4) - 16;
            int q1 = ((x[i].qs[j] >> 4) | ((qh >> (j + 16)) & 1) << 4) - 16;
            sumi += q0 * y[i].qs[j] + q1 * y[i].qs[j + 16];
        }
        sumf += sumi * (H2F(x[i].d) * H2F(y[i].d));
    }
    return sumf;
}

static float dot_q5_1_q8_1(int64_t nb, const ss_block_q5_1 *x, const ss_block_q8_1 *y) {
    float sumf = 0;
    for (int64_t i = 0; i < nb; i++) {
        const uint32_t qh = load_qh(x[i].qh);
        int sumi = 0;
        for (int j = 0; j < 16; j++) {
            int q0 = (x[i].qs[j] & 0xF) | ((qh >> j) & 1) << 4;
            int q1 = (x[i].qs[j] >> 4) | ((qh >> (j + 16)) & 1) << 4;
            sumi += q0 * y[i].qs[j] + q1 * y[i].qs[j + 16];
        }
        sumf += sumi * (H2F(x[i].d) * H2F(y[i].d)) + H2F(x[i].m) * H2F(y[i].s);
    }
    return sumf;
}

static float dot_q8_0_q8_0(int64_t nb, const ss_block_q8_0 *x, const ss_block_q8_0 *y) {
    float sumf = 0;
    for (int64_t i = 0; i < nb; i++) {
        int sumi = 0;
        for (int j = 0; j < SS_QK; j++) sumi += x[i].qs[j] * y[i].qs[j];
        sumf += sumi * (H2F(x[i].d) * H2F(y[i].d));
    }
    return sumf;
}

// Q4_K/Q5_K · Q8_K per super-block:
//   sum_j sum_l (d sc_j q - dmin m_j) yd qy = d yd sum_j sc_j (q·qy)_j - dmin yd sum_j m_j sum(qy)_j
// where sum(qy) over a sub-block of 32 is bsums[2j] + bsums[2j+1].
static float dot_q4_K_q8_K(int64_t nb, const ss_block_q4_K *x, const ss_block_q8_K *y) {
    float sumf = 0;
    for (int64_t i = 0; i < nb; i++) {
        const uint8_t *q = x[i].qs;
        const int8_t *q8 = y[i].qs;
        int isum = 0, imin = 0;
        for (int g = 0; g < 4; g++, q += 32, q8 += 64) {
            uint8_t sc1, m1, sc2, m2;
            ss_get_scale_min_k4(2 * g, x[i].scales, &sc1, &m1);
            ss_get_scale_min_k4(2 * g + 1, x[i].scales, &sc2, &m2);
            int s1 = 0, s2 = 0;
            for (int l = 0; l < 32; l++) {
                s1 += (q[l] & 0xF) * q8[l];
                s2 += (q[l] >> 4) * q8[l + 32];
            }
            isum += sc1 * s1 + sc2 * s2;
            imin += m1 * (y[i].bsums[4 * g] + y[i].bsums[4 * g + 1]) + m2 * (y[i].bsums[4 * g + 2] + y[i].bsums[4 * g + 3]);
        }
        sumf += H2F(x[i].d) * y[i].d * isum - H2F(x[i].dmin) * y[i].d * imin;
    }
    return sumf;
}

static float dot_q5_K_q8_K(int64_t nb, const ss_block_q5_K *x, const ss_block_q8_K *y) {
    float sumf = 0;
    for (int64_t i = 0; i < nb; i++) {
        const uint8_t *ql = x[i].qs, *qh = x[i].qh;
        const int8_t *q8 = y[i].qs;
        int isum = 0, imin = 0;
        for (int g = 0; g < 4; g++, ql += 32, q8 += 64) {
            uint8_t sc1, m1, sc2, m2;
            ss_get_scale_min_k4(2 * g, x[i].scales, &sc1, &m1);
            ss_get_scale_min_k4(2 * g + 1, x[i].scales, &sc2, &m2);
            int s1 = 0, s2 = 0;
            for (int l = 0; l < 32; l++) {
                s1 += ((ql[l] & 0xF) | ((qh[l] >> (2 * g)) & 1) << 4) * q8[l];
                s2 += ((ql[l] >> 4) | ((qh[l] >> (2 * g + 1)) & 1) << 4) * q8[l + 32];
            }
            isum += sc1 * s1 + sc2 * s2;
            imin += m1 * (y[i].bsums[4 * g] + y[i].bsums[4 * g + 1]) + m2 * (y[i].bsums[4 * g + 2] + y[i].bsums[4 * g + 3]);
        }
        sumf += H2F(x[i].d) * y[i].d * isum - H2F(x[i].dmin) * y[i].d * imin;
    }
    return sumf;
}

// Q6_K · Q8_K: d yd sum_{16 sub-blocks} sc_j sum (q-32) qy
static float dot_q6_K_q8_K(int64_t nb, const ss_block_q6_K *x, const ss_block_q8_K *y) {
    float sumf = 0;
    for (int64_t i = 0; i < nb; i++) {
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        const int8_t *sc = x[i].scales, *q8 = y[i].qs;
        int isum = 0;
        for (int h = 0; h < 2; h++, ql += 64, qh += 32, sc += 8, q8 += 128) {
            int s[8] = {0};    // sub-block sums: value index l + 32k belongs to sub-block 2k + l/16
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                int q1 = ((ql[l] & 0xF)      | ((qh[l] >> 0) & 3) << 4) - 32;
                int q2 = ((ql[l + 32] & 0xF) | ((qh[l] >> 2) & 3) << 4) - 32;
                int q3 = ((ql[l] >> 4)       | ((qh[l] >> 4) & 3) << 4) - 32;
                int q4 = ((ql[l + 32] >> 4)  | ((qh[l] >> 6) & 3) << 4) - 32;
                s[is + 0] += q1 * q8[l];
                s[is + 2] += q2 * q8[l + 32];
                s[is + 4] += q3 * q8[l + 64];
                s[is + 6] += q4 * q8[l + 96];
            }
            for (int k = 0; k < 8; k++) isum += sc[k] * s[k];
        }
        sumf += H2F(x[i].d) * y[i].d * isum;
    }
    return sumf;
}

void ss_vec_dot_scalar(uint32_t wtype, int64_t n, float *s, const void *w, const void *xq) {
    switch (wtype) {
    case SS_TYPE_F32: {
        const float *a = w, *b = xq;
        double sum = 0;
        for (int64_t i = 0; i < n; i++) sum += (double)a[i] * b[i];
        *s = (float)sum;
    } break;
    case SS_TYPE_F16: {
        const uint16_t *a = w, *b = xq;
        double sum = 0;
        for (int64_t i = 0; i < n; i++) sum += (double)(H2F(a[i]) * H2F(b[i]));
        *s = (float)sum;
    } break;
    case SS_TYPE_BF16: {
        const uint16_t *a = w, *b = xq;
        double sum = 0;
        for (int64_t i = 0; i < n; i++) sum += (double)(ss_bf16_to_fp32(a[i]) * ss_bf16_to_fp32(b[i]));
        *s = (float)sum;
    } break;
    case SS_TYPE_Q4_0: *s = dot_q4_0_q8_0(n / SS_QK, w, xq); break;
    case SS_TYPE_Q4_1: *s = dot_q4_1_q8_1(n / SS_QK, w, xq); break;
    case SS_TYPE_Q5_0: *s = dot_q5_0_q8_0(n / SS_QK, w, xq); break;
    case SS_TYPE_Q5_1: *s = dot_q5_1_q8_1(n / SS_QK, w, xq); break;
    case SS_TYPE_Q8_0: *s = dot_q8_0_q8_0(n / SS_QK, w, xq); break;
    case SS_TYPE_Q4_K: *s = dot_q4_K_q8_K(n / SS_QK_K, w, xq); break;
    case SS_TYPE_Q5_K: *s = dot_q5_K_q8_K(n / SS_QK_K, w, xq); break;
    case SS_TYPE_Q6_K: *s = dot_q6_K_q8_K(n / SS_QK_K, w, xq); break;
    default: *s = 0.0f; break;
    }
}

uint32_t ss_vec_dot_type(uint32_t wtype) {
    switch (wtype) {
    case SS_TYPE_F32:  return SS_TYPE_F32;
    case SS_TYPE_F16:  return SS_TYPE_F16;
    case SS_TYPE_BF16: return SS_TYPE_BF16;
    case SS_TYPE_Q4_0: case SS_TYPE_Q5_0: case SS_TYPE_Q8_0: return SS_TYPE_Q8_0;
    case SS_TYPE_Q4_1: case SS_TYPE_Q5_1: return SS_TYPE_Q8_1;
    case SS_TYPE_Q4_K: case SS_TYPE_Q5_K: case SS_TYPE_Q6_K: return SS_TYPE_Q8_K;
    default: return SS_TYPE_F32;
    }
}

// scalar activation conversion (bit-identical to the AVX2 one)
void ss_quant_act_ref(uint32_t wtype, const float *x, void *xq, int64_t n) {
    const uint32_t vtype = ss_vec_dot_type(wtype);
    switch (vtype) {
    case SS_TYPE_Q8_0: quant_q8_0_act(x, xq, n / SS_QK); break;
    case SS_TYPE_Q8_1: quant_q8_1_act(x, xq, n / SS_QK); break;
    default: ss_quant_row(vtype, x, xq, n); break;   // F32 copy, F16, BF16, Q8_K (reference)
    }
}

void ss_vec_dot_n_ref(uint32_t wtype, int64_t n, float *s, const void *w, const void *xq,
                      size_t xq_stride, int nr) {
    for (int j = 0; j < nr; j++)
        ss_vec_dot_scalar(wtype, n, &s[j], w, (const uint8_t *)xq + (size_t)j * xq_stride);
}

void ss_axpy_ref(float a, const float *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}

void ss_swiglu_ref(float *g, const float *u, int64_t n) {
    for (int64_t i = 0; i < n; i++) g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

// ---------------------------------------------------------------------------------------------
// matrix-matrix path: the packed layouts (the kernels: SIMD only, see ss_kernels.h)

// F16/BF16 keep their register tiles at every T (as fast as the panel kernel from 64 rows,
// measured, faster below; and a row's result is then the same in prefill and in decode)
int ss_gemm_layout(uint32_t wtype, int64_t K, int64_t T) {
    if (wtype == SS_TYPE_F32 || wtype == SS_TYPE_F16 || wtype == SS_TYPE_BF16) return SS_PACK_F32;
    return T >= SS_GEMM_PANEL_MIN_T && ss_ipanel_sub(wtype) ? SS_PACK_PANEL : SS_PACK_INT;
}

size_t ss_pack_row_bytes(uint32_t wtype, int layout, int64_t K) {
    if (layout == SS_PACK_PANEL) return ss_pack_align64(5 * (size_t)K / 4);   // (16 K + 2 K + 2 K) / 16
    if (layout != SS_PACK_INT) return ss_pack_align64(4 * (size_t)K);
    switch (ss_vec_dot_type(wtype)) {
    case SS_TYPE_Q8_0: return ss_pack_align64(ss_pack_q8_0_sofs(K) + 4 * (size_t)((K / 32 + 7) / 8 * 8));
    case SS_TYPE_Q8_K: return ss_pack_align64(ss_pack_q8_K_bofs(K) + 2 * (size_t)(K / 16));
    case SS_TYPE_F32: case SS_TYPE_F16: case SS_TYPE_BF16: return ss_pack_align64(4 * (size_t)K);
    default: return 0;
    }
}
