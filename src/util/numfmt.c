/* Float parsing and formatting exactly as Redis does it (util.c: string2ld,
 * ld2string, string2d, and the %.17g of addReplyDouble). Redis relies on the C
 * library's long double; Rust has none, so these few functions stay in C.
 * Every function works on explicit lengths and never writes past `cap`. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LD_CHARS (5 * 1024)

/* Redis string2ld: 1 on success. Like Redis (whose buffer is
 * MAX_LONG_DOUBLE_CHARS bytes including the NUL), 5120 bytes or more are
 * rejected. */
int cairn_parse_ld(const char *s, size_t len, long double *out) {
    char buf[MAX_LD_CHARS + 1];
    char *eptr;
    if (len == 0 || len >= MAX_LD_CHARS) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    long double v = strtold(buf, &eptr);
    if (isspace((unsigned char)buf[0]) || eptr[0] != '\0' ||
        (size_t)(eptr - buf) != len ||
        (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO)) ||
        isnan(v))
        return 0;
    *out = v;
    return 1;
}

/* Redis string2d (getDoubleFromObject): 1 on success. */
int cairn_parse_d(const char *s, size_t len, double *out) {
    char buf[MAX_LD_CHARS + 1];
    char *eptr;
    if (len == 0 || len >= sizeof(buf)) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    double v = strtod(buf, &eptr);
    if (isspace((unsigned char)buf[0]) || (size_t)(eptr - buf) != len ||
        (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || fpclassify(v) == FP_ZERO)) ||
        isnan(v))
        return 0;
    *out = v;
    return 1;
}

/* ld2string(LD_STR_HUMAN): %.17Lf with trailing zeros removed. Returns the
 * length written, or -1. */
static int ld_human(long double value, char *buf, size_t cap) {
    if (isinf(value)) {
        if (cap < 5) return -1;
        if (value > 0) { memcpy(buf, "inf", 3); return 3; }
        memcpy(buf, "-inf", 4); return 4;
    }
    int l = snprintf(buf, cap, "%.17Lf", value);
    if (l < 0 || (size_t)l + 1 > cap) return -1;
    if (strchr(buf, '.') != NULL) {
        char *p = buf + l - 1;
        while (*p == '0') { p--; l--; }
        if (*p == '.') l--;
    }
    if (l == 2 && buf[0] == '-' && buf[1] == '0') { buf[0] = '0'; l = 1; }
    return l;
}

/* INCRBYFLOAT / HINCRBYFLOAT: parse both operands as long double, add, format.
 * Returns length, -1 if an operand is not a float, -2 on NaN/Infinity result. */
int cairn_incr_ld(const char *cur, size_t curlen, int has_cur, const char *incr,
                  size_t incrlen, char *out, size_t cap) {
    long double a = 0, b;
    if (has_cur && !cairn_parse_ld(cur, curlen, &a)) return -1;
    if (!cairn_parse_ld(incr, incrlen, &b)) return -3;
    long double r = a + b;
    if (isnan(r) || isinf(r)) return -2;
    return ld_human(r, out, cap);
}

/* Format a double as %.17g (Redis 7.0 addReplyDouble), inf/-inf spelled out. */
int cairn_fmt_g17(double d, char *out, size_t cap) {
    if (isinf(d)) {
        if (cap < 5) return -1;
        if (d > 0) { memcpy(out, "inf", 3); return 3; }
        memcpy(out, "-inf", 4); return 4;
    }
    int l = snprintf(out, cap, "%.17g", d);
    if (l < 0 || (size_t)l >= cap) return -1;
    return l;
}

/* Format a double as %.14g (lua-cjson's number format; the caller refuses
 * NaN and infinities first). */
int cairn_fmt_g14(double d, char *out, size_t cap) {
    int l = snprintf(out, cap, "%.14g", d);
    if (l < 0 || (size_t)l >= cap) return -1;
    return l;
}

/* SORT's numeric score (sort.c): strtod over the value as a C string, so
 * it stops at the first NUL and accepts leading spaces; 1 on success, 0
 * where Redis reports that the score can't be converted (characters left
 * over, ERANGE, NaN). The score is written either way. */
int cairn_sort_score(const char *s, size_t len, double *out) {
    char *buf = malloc(len + 1);
    char *eptr;
    int ok;
    if (buf == NULL) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    double v = strtod(buf, &eptr);
    ok = !(eptr[0] != '\0' || errno == ERANGE || isnan(v));
    *out = v;
    free(buf);
    return ok;
}

/* A double as Redis's addReplyHumanLongDouble prints it: converted to long
 * double (exactly), then ld2string(LD_STR_HUMAN). GEOPOS and WITHCOORD. */
int cairn_fmt_human(double d, char *out, size_t cap) {
    return ld_human((long double)d, out, cap);
}

/* printf's %.<prec>f: GEODIST and WITHDIST (%.4f), and the coordinates in
 * GEOADD's range error (%f). */
int cairn_fmt_fixed(double d, int prec, char *out, size_t cap) {
    int l = snprintf(out, cap, "%.*f", prec, d);
    if (l < 0 || (size_t)l >= cap) return -1;
    return l;
}
