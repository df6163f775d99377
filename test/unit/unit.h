/* unit.h - tiny glue so every test/unit/test_*.c is its own Check program:
 * define the suite with BG_UNIT_MAIN(make_suite). */
#ifndef BG_UNIT_H
#define BG_UNIT_H
#include <check.h>
#include <stdlib.h>

#define BG_UNIT_MAIN(mk)                                         \
    int main(void)                                               \
    {                                                            \
        SRunner *sr = srunner_create(mk());                      \
        srunner_run_all(sr, CK_NORMAL);                          \
        int nf = srunner_ntests_failed(sr);                      \
        srunner_free(sr);                                        \
        return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;            \
    }
#endif
