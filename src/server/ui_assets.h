/*
 * ui_assets.h: the dashboard's files (web/), embedded at build time by cmake/embed.cmake.
 */
#ifndef FT_UI_ASSETS_H
#define FT_UI_ASSETS_H

#include <stddef.h>

struct ft_asset {
    const char *path;  /* "/index.html", "/app.js" ... (relative to web/) */
    const char *ctype; /* Content-Type */
    const unsigned char *data;
    size_t len;
    const char *etag; /* quoted: a prefix of the content's SHA-256 */
};

extern const struct ft_asset ft_ui_assets[];
extern const int ft_ui_nassets;

#endif
