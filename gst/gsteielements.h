/* The elements of the edgeinfer plugin; gsteiregister.c registers each. */
#ifndef GST_EI_ELEMENTS_H
#define GST_EI_ELEMENTS_H

#include <gst/gst.h>

G_BEGIN_DECLS

GST_ELEMENT_REGISTER_DECLARE(edgeosd)
GST_ELEMENT_REGISTER_DECLARE(edgejson)
GST_ELEMENT_REGISTER_DECLARE(edgemux)
GST_ELEMENT_REGISTER_DECLARE(edgedemux)
GST_ELEMENT_REGISTER_DECLARE(edgeinfer)

/* Registers every element on plugin (the .so's plugin_init, and the app's static registration). */
gboolean gst_ei_register_elements(GstPlugin * plugin);
/* Registers the plugin inside this process, for the `edgeinfer run` app: no GST_PLUGIN_PATH needed. */
gboolean gst_ei_register_static(void);

G_END_DECLS
#endif
