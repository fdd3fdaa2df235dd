/* The loadable plugin, libgstedgeinfer.so: gst-inspect-1.0 edgeinfer (with GST_PLUGIN_PATH set to
 * the build's gst/ folder, or after `cmake --install`). */
#include "gsteielements.h"

static gboolean plugin_init(GstPlugin * plugin) { return gst_ei_register_elements(plugin); }

#define PACKAGE "edgeinfer"
GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, edgeinfer,
                  "Object detection and segmentation inference with edgeinfer", plugin_init, EI_GST_VERSION, "MIT/X11",
                  "edgeinfer", "https://github.com/edgeinfer/edgeinfer")
