/* SPDX-License-Identifier: MIT */
/* The AWS credentials file: profiles, the aws_ prefix, comments, spacing, temporary keys. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "aws-credentials.h"

static const char *several =
        "# written by aws configure\n"
        "[default]\n"
        "aws_access_key_id = DEFAULTID\n"
        "aws_secret_access_key = defaultsecret\n"
        "\n"
        "[profile prod]\r\n"
        "aws_access_key_id=PRODID\r\n"
        "  aws_secret_access_key =\tprodsecret  \r\n"
        "aws_session_token = prodtoken\r\n"
        "[ spaced ]\n"
        "access_key_id = SPACEDID\n"
        "secret_access_key = spacedsecret\n";

static void test_default_profile_only(void **state) {
        AwsCredentials c;

        assert_int_equal(aws_credentials_parse(several, "default", &c), 0);
        assert_string_equal(c.access_key_id, "DEFAULTID");
        assert_string_equal(c.secret_access_key, "defaultsecret");
        assert_null(c.session_token);   /* prod's is not mixed in */
        aws_credentials_done(&c);
}

static void test_named_profiles(void **state) {
        AwsCredentials c;

        assert_int_equal(aws_credentials_parse(several, "prod", &c), 0);
        assert_string_equal(c.access_key_id, "PRODID");
        assert_string_equal(c.secret_access_key, "prodsecret");
        assert_string_equal(c.session_token, "prodtoken");
        aws_credentials_done(&c);
        assert_int_equal(aws_credentials_parse(several, "spaced", &c), 0);
        assert_string_equal(c.access_key_id, "SPACEDID");
        aws_credentials_done(&c);
}

static void test_missing_profile_or_key(void **state) {
        AwsCredentials c;

        assert_int_equal(aws_credentials_parse(several, "staging", &c), -EBADMSG);
        assert_int_equal(aws_credentials_parse("access_key_id = X\n", "default", &c), -EBADMSG);
        assert_int_equal(aws_credentials_parse("", "default", &c), -EBADMSG);
}

static void test_lines_before_sections_count_for_all(void **state) {
        AwsCredentials c;
        const char *text = "access_key_id = TOP\nsecret_access_key = topsecret\n"
                           "[other]\naccess_key_id = OTHER\n"
                           "[default]\nsecret_access_key = own\n";

        assert_int_equal(aws_credentials_parse(text, "default", &c), 0);
        assert_string_equal(c.access_key_id, "TOP");
        assert_string_equal(c.secret_access_key, "own");
        aws_credentials_done(&c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_default_profile_only),
                cmocka_unit_test(test_named_profiles),
                cmocka_unit_test(test_missing_profile_or_key),
                cmocka_unit_test(test_lines_before_sections_count_for_all),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
