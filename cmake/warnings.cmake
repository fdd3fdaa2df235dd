# Warnings are errors for our own code (never for generated or vendored code).
function(ei_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wvla
                         -Wstrict-prototypes -Wmissing-prototypes -Werror)
endfunction()
