# EI_SANITIZE=ON: AddressSanitizer + UndefinedBehaviorSanitizer on everything we build.
if(EI_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()

# EI_FUZZ=ON (clang): everything instrumented for libFuzzer; fuzz targets link -fsanitize=fuzzer.
if(EI_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
