/* SPDX-License-Identifier: GPL-2.0-or-later */
/* i18n.h - gettext for user-facing strings (--help, start-up errors). */
#ifndef VSND_I18N_H
#define VSND_I18N_H

#include <glib/gi18n.h>

#endif /* VSND_I18N_H */
