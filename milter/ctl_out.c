/* ctl_out.c - how bouncegatectl writes a value in its --json and --csv
 * output: one JSON string writer and one CSV field writer, shared by
 * classify, stats, verify and export, so every command escapes alike. */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

/* Length of a valid UTF-8 sequence at s (n bytes left), 0 if invalid.
 * Rejects overlongs, surrogates and code points above U+10FFFF. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned long cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return 0;
    return len;
}

/* JSON string: escapes quote, backslash and control bytes; valid UTF-8
 * passes through; each byte of invalid UTF-8 becomes \u00XX (read as
 * Latin-1), so the output is always valid JSON. */
void ctl_json_str(FILE *out, const char *str)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    size_t n = strlen((const char *)s);
    fputc('"', out);
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\') {
            fputc('\\', out);
            fputc(c, out);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            switch (c) {
            case '\n': fputs("\\n", out); break;
            case '\r': fputs("\\r", out); break;
            case '\t': fputs("\\t", out); break;
            default: fprintf(out, "\\u%04x", c); break;
            }
            i++;
        } else {
            size_t l = utf8_len(s + i, n - i);
            if (l == 0) {
                fprintf(out, "\\u%04x", c);
                i++;
            } else {
                fwrite(s + i, 1, l, out);
                i += l;
            }
        }
    }
    fputc('"', out);
}

/* A field left bare unless it holds a comma, a quote or a line end, or
 * starts or ends with a blank (import trims): then quoted, RFC 4180. */
static int needs_quotes(const char *s)
{
    if (*s == '\0')
        return 0;
    if (s[0] == ' ' || s[strlen(s) - 1] == ' ')
        return 1;
    return strpbrk(s, ",\"\r\n") != NULL;
}

void ctl_csv_field(FILE *fp, const char *s, int last)
{
    if (needs_quotes(s)) {
        fputc('"', fp);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', fp);
            fputc(*s, fp);
        }
        fputc('"', fp);
    } else {
        fputs(s, fp);
    }
    fputc(last ? '\n' : ',', fp);
}
