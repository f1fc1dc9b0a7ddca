/* Leaks a provider on purpose: c_abi.rs checks that valgrind and AddressSanitizer, as the C
 * tests run them, report it (the memory checks have teeth). */
#include <stdio.h>
#include <string.h>

#include "scopegate.h"

static int leak(void) {
    scopegate_provider *volatile p = NULL;
    if (scopegate_provider_builtin("yespo", (scopegate_provider **)&p) != SCOPEGATE_RESULT_OK) {
        return 1;
    }
    p = NULL; /* the only pointer to it, gone */
    return 0;
}

int main(void) {
    char scrub[4096];
    if (leak() != 0) {
        return 2;
    }
    memset(scrub, 0, sizeof scrub);
    printf("leak_canary: ok %d\n", scrub[100]);
    fflush(stdout); /* LeakSanitizer ends the process without flushing */
    return 0;
}
