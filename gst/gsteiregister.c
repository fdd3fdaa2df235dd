#include "gsteielements.h"

/* One line per element: GST_ELEMENT_REGISTER_DECLARE here, GST_ELEMENT_REGISTER below. */

gboolean gst_ei_register_elements(GstPlugin * plugin) {
    gboolean ok = FALSE;
    ok |= GST_ELEMENT_REGISTER(edgeosd, plugin);
    ok |= GST_ELEMENT_REGISTER(edgejson, plugin);
    ok |= GST_ELEMENT_REGISTER(edgemux, plugin);
    ok |= GST_ELEMENT_REGISTER(edgedemux, plugin);
    ok |= GST_ELEMENT_REGISTER(edgeinfer, plugin);
    return ok;
}

gboolean gst_ei_register_static(void) {
    static gsize    done = 0;
    static gboolean ok = FALSE;
    if (g_once_init_enter(&done)) {
        ok = gst_plugin_register_static(GST_VERSION_MAJOR, GST_VERSION_MINOR, "edgeinfer",
                                        "Object detection and segmentation inference with edgeinfer",
                                        gst_ei_register_elements, EI_GST_VERSION, "MIT/X11", "edgeinfer", "edgeinfer",
                                        "https://github.com/edgeinfer/edgeinfer");
        g_once_init_leave(&done, 1);
    }
    return ok;
}
