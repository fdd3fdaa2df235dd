#include <stdio.h>

#include "edgeinfer/edgeinfer.h"

int main(void) {
    printf("edgeinfer %s\n", EI_VERSION_STRING);
    return 0;
}
