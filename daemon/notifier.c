/* SPDX-License-Identifier: MIT */
/* The notifiers group of sluiced.conf: one member per notifier, its kind by its key */
#include <stdlib.h>
#include <string.h>

#include "config-internal.h"
#include "notifier.h"
#include "util/strv.h"

static const char * const event_names[_NOTIFY_EVENT_MAX] = {
        [NOTIFY_FAILURE] = "failure",
        [NOTIFY_SUCCESS] = "success",
        [NOTIFY_RECOVERY] = "recovery",
        [NOTIFY_RETRY] = "retry",
};

static const char * const event_keys[_NOTIFY_EVENT_MAX] = {
        [NOTIFY_FAILURE] = "on_failure",
        [NOTIFY_SUCCESS] = "on_success",
        [NOTIFY_RECOVERY] = "on_recovery",
        [NOTIFY_RETRY] = "on_retry",
};

const char *notify_event_to_string(NotifyEvent e) {
        return e < _NOTIFY_EVENT_MAX ? event_names[e] : NULL;
}

const char *notify_event_key(NotifyEvent e) {
        return e < _NOTIFY_EVENT_MAX ? event_keys[e] : NULL;
}

void notifier_done(Notifier *n) {
        free(n->name);
        strv_free(n->argv);
        free(n->url);
        free(n->to);
        free(n->from);
        strv_free(n->sendmail);
        free(n->subject);
        free(n->body);
        free(n->unit);
}

static void span(Diag *d, const config_setting_t *s, const char *key, const char *name,
                 usec_t *ret) {
        const config_setting_t *k = config_setting_get_member(s, key);
        const char *v;

        if (!k)
                return;
        v = config_setting_get_string(k);
        if (!v || parse_timespan(v, ret) < 0 || *ret == 0)
                diag_error(d, line_of(k), "notifier '%s': '%s' must be a time span such as "
                           "\"10s\"", name, key);
}

/* A list of strings, the program first as an absolute path. */
static int argv_of(const config_setting_t *k, Diag *d, const char *name, char ***ret) {
        for (int i = 0; config_setting_type(k) == CONFIG_TYPE_ARRAY && i < config_setting_length(k);
             i++) {
                const char *v = config_setting_get_string_elem(k, i);
                if (!v)
                        break;
                if (strv_extend(ret, v) < 0)
                        return -ENOMEM;
        }
        if (!*ret || (*ret)[0][0] != '/' || strv_length(*ret) != (size_t) config_setting_length(k))
                diag_error(d, line_of(k), "notifier '%s': '%s' must be a list of strings, the "
                           "program first, as an absolute path", name, config_setting_name(k));
        return 0;
}

static int string_of(const config_setting_t *s, const char *key, Diag *d, const char *name,
                     char **ret) {
        const config_setting_t *k = config_setting_get_member(s, key);
        const char *v;

        if (!k)
                return 0;
        v = config_setting_get_string(k);
        if (!v) {
                diag_error(d, line_of(k), "notifier '%s': '%s' must be a string", name, key);
                return 0;
        }
        if (!streq(key, "body") && strpbrk(v, "\r\n")) {
                diag_error(d, line_of(k), "notifier '%s': '%s' must be one line", name, key);
                return 0;
        }
        *ret = strdup(v);
        return *ret ? 0 : -ENOMEM;
}

static int parse_one(const config_setting_t *s, Diag *d, Notifier *n) {
        static const char * const known[] = { "exec", "webhook", "email", "slack", "timeout",
                                               "retries", "window", "sendmail", "from",
                                               "subject", "body", "unit", NULL };
        const config_setting_t *k;
        const char *name = n->name;

        n->timeout = 10 * USEC_PER_SEC;
        n->retries = 3;
        n->window = 60 * USEC_PER_SEC;
        if (!config_setting_is_group(s)) {
                diag_error(d, line_of(s), "notifier '%s' must be a group such as { webhook = "
                           "\"https://...\"; }", name);
                return 0;
        }
        for (int i = 0; i < config_setting_length(s); i++) {
                const char *key = config_setting_name(config_setting_get_elem(s, (unsigned) i));
                if (!strv_contains((char **) known, key))
                        diag_error(d, line_of(config_setting_get_elem(s, (unsigned) i)),
                                   "notifier '%s': unknown key '%s'", name, key);
        }
        if ((k = config_setting_get_member(s, "exec"))) {
                n->kind = NOTIFIER_EXEC;
                if (argv_of(k, d, name, &n->argv) < 0)
                        return -ENOMEM;
        } else if ((k = config_setting_get_member(s, "unit"))) {
                const char *v = config_setting_get_string(k);
                size_t len = v ? strlen(v) : 0;
                n->kind = NOTIFIER_UNIT;
                if (len < 10 || !streq(v + len - 9, "@.service") || strpbrk(v, "/ "))
                        diag_error(d, line_of(k), "notifier '%s': 'unit' must name a template "
                                   "service such as \"sluice-notify@.service\"", name);
                else if (!(n->unit = strdup(v)))
                        return -ENOMEM;
        } else if ((k = config_setting_get_member(s, "email"))) {
                const char *v = config_setting_get_string(k);
                n->kind = NOTIFIER_EMAIL;
                if (!v || !strchr(v, '@') || strpbrk(v, "\r\n"))
                        diag_error(d, line_of(k), "notifier '%s': 'email' must be an address "
                                   "such as \"ops@example.com\"", name);
                else if (!(n->to = strdup(v)))
                        return -ENOMEM;
                if ((k = config_setting_get_member(s, "sendmail"))) {
                        if (argv_of(k, d, name, &n->sendmail) < 0)
                                return -ENOMEM;
                } else if (strv_extend(&n->sendmail, "/usr/sbin/sendmail") < 0)
                        return -ENOMEM;
                if (string_of(s, "from", d, name, &n->from) < 0 ||
                    string_of(s, "subject", d, name, &n->subject) < 0 ||
                    string_of(s, "body", d, name, &n->body) < 0)
                        return -ENOMEM;
                if ((!n->subject && !(n->subject = strdup("${text}"))) ||
                    (!n->body && !(n->body = strdup("${text}\n\nUnit: ${unit}\nReason: "
                                                     "${reason}\n\nLast lines of its log:\n${log}\n"
                                                     "\nAll of it: ${logs_command}\n"))))
                        return -ENOMEM;
        } else if ((k = config_setting_get_member(s, "webhook"))) {
                const char *v = config_setting_get_string(k);
                n->kind = NOTIFIER_WEBHOOK;
                if (!v || (!strneq(v, "http://", 7) && !strneq(v, "https://", 8)))
                        diag_error(d, line_of(k), "notifier '%s': 'webhook' must be an http:// "
                                   "or https:// URL", name);
                else if (!(n->url = strdup(v)))
                        return -ENOMEM;
        } else
                diag_error(d, line_of(s), "notifier '%s' needs 'exec' (a command), 'webhook' "
                           "(a URL), 'email' (an address) or 'unit' (a template unit)", name);
        if ((k = config_setting_get_member(s, "slack"))) {
                if (config_setting_type(k) != CONFIG_TYPE_BOOL)
                        diag_error(d, line_of(k), "notifier '%s': 'slack' must be true or false",
                                   name);
                else
                        n->slack = config_setting_get_bool(k);
        }
        if ((k = config_setting_get_member(s, "retries"))) {
                int v = config_setting_get_int(k);
                if (config_setting_type(k) != CONFIG_TYPE_INT || v < 0 || v > 10)
                        diag_error(d, line_of(k), "notifier '%s': 'retries' must be 0 to 10",
                                   name);
                else
                        n->retries = (unsigned) v;
        }
        span(d, s, "timeout", name, &n->timeout);
        span(d, s, "window", name, &n->window);
        return 0;
}

int notifiers_parse(const config_setting_t *s, Diag *d, Notifier **ret, size_t *ret_n) {
        int n = config_setting_length(s);
        Notifier *l;

        if (!config_setting_is_group(s)) {
                diag_error(d, line_of(s), "'notifiers' must be a group: notifiers = { ops = { "
                           "webhook = \"...\"; }; }");
                return 0;
        }
        l = calloc((size_t) n + 1, sizeof(Notifier));
        if (!l)
                return -ENOMEM;
        for (int i = 0; i < n; i++) {
                const config_setting_t *m = config_setting_get_elem(s, (unsigned) i);

                l[i].name = strdup(config_setting_name(m));
                if (!l[i].name || parse_one(m, d, &l[i]) < 0) {
                        for (int j = 0; j <= i; j++)
                                notifier_done(&l[j]);
                        free(l);
                        return -ENOMEM;
                }
        }
        *ret = l;
        *ret_n = (size_t) n;
        return 0;
}
