/* Export and attribute macros shared by every public header. */
#ifndef EDGEINFER_API_H
#define EDGEINFER_API_H

#if defined(_WIN32)
#define EI_API __declspec(dllexport)
#else
#define EI_API __attribute__((visibility("default")))
#endif

#if defined(__GNUC__) || defined(__clang__)
#define EI_NODISCARD         __attribute__((warn_unused_result))
#define EI_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define EI_NODISCARD
#define EI_PRINTF(fmt, args)
#endif

#endif
