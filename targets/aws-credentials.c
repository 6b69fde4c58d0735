/* SPDX-License-Identifier: MIT */
/*
 * A credentials file holds several profiles as the AWS tools write it: only the one asked for
 * counts (lines before the first section count for all), or a key of another profile would
 * be sent, the last one read winning.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "aws-credentials.h"
#include "util/macro.h"

/* "[name]", or "[profile name]": whether it is that profile's. */
static bool section_is(const char *line, const char *profile) {
        const char *end = strchr(line, ']');
        size_t n;

        if (!end)
                return false;
        for (line++; *line == ' ' || *line == '\t'; line++)
                ;
        if (strneq(line, "profile ", 8))
                for (line += 8; *line == ' '; line++)
                        ;
        while (end > line && (end[-1] == ' ' || end[-1] == '\t'))
                end--;
        n = (size_t) (end - line);
        return n == strlen(profile) && strneq(line, profile, n);
}

static int set(char **field, const char *value) {
        char *v = strdup(value);

        if (!v)
                return -ENOMEM;
        free(*field);
        *field = v;
        return 0;
}

int aws_credentials_parse(const char *text, const char *profile, AwsCredentials *ret) {
        _cleanup_free_ char *copy = strdup(text);
        AwsCredentials c = {};
        bool ours = true;       /* lines before any section count for every profile */
        char *save = NULL;
        int r = 0;

        if (!copy)
                return -ENOMEM;
        for (char *line = strtok_r(copy, "\r\n", &save); line && r >= 0;
             line = strtok_r(NULL, "\r\n", &save)) {
                char *eq, *k, *v, *end;

                line += strspn(line, " \t");
                if (line[0] == '[') {
                        ours = section_is(line, profile);
                        continue;
                }
                eq = strchr(line, '=');
                if (!ours || !eq || line[0] == '#')
                        continue;
                for (k = line, end = eq; end > k && (end[-1] == ' ' || end[-1] == '\t'); end--)
                        ;
                *end = 0;
                for (v = eq + 1; *v == ' ' || *v == '\t'; v++)
                        ;
                /* An editor's trailing blank is no part of a key (it would sign wrong). */
                for (end = v + strlen(v); end > v && (end[-1] == ' ' || end[-1] == '\t'); end--)
                        ;
                *end = 0;
                if (strneq(k, "aws_", 4))
                        k += 4;
                if (streq(k, "access_key_id"))
                        r = set(&c.access_key_id, v);
                else if (streq(k, "secret_access_key"))
                        r = set(&c.secret_access_key, v);
                else if (streq(k, "session_token") && v[0])
                        r = set(&c.session_token, v);
        }
        if (r >= 0 && (!c.access_key_id || !c.secret_access_key))
                r = -EBADMSG;
        if (r < 0) {
                aws_credentials_done(&c);
                return r;
        }
        *ret = c;
        return 0;
}

void aws_credentials_done(AwsCredentials *c) {
        free(c->access_key_id);
        free(c->secret_access_key);
        free(c->session_token);
        *c = (AwsCredentials){};
}
