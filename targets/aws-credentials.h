/* SPDX-License-Identifier: MIT */
/* The credentials file of the AWS tools (~/.aws/credentials), read for a profile (pure) */
#pragma once

typedef struct AwsCredentials {
        char *access_key_id;
        char *secret_access_key;
        char *session_token;            /* temporary credentials (STS, an instance role); or NULL */
} AwsCredentials;

/*
 * "access_key_id = ..." and "secret_access_key = ..." lines, and "session_token = ..." for
 * temporary credentials (aws_-prefixed as the AWS tools write them too), before any [section]
 * or in profile's ("[NAME]", or "[profile NAME]" as ~/.aws/config writes it); '#' comments
 * are skipped. -EBADMSG when the key id or the secret is missing; ret is filled only on success.
 */
int aws_credentials_parse(const char *text, const char *profile, AwsCredentials *ret);
void aws_credentials_done(AwsCredentials *c);
