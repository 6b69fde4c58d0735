/* SPDX-License-Identifier: MIT */
/* Templates with typed wildcards: parse, match, format (pure: no I/O, no logging) */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "binding.h"
#include "param.h"
#include "util/macro.h"

typedef struct TemplatePart {
        char *literal;          /* NULL for a wildcard */
        size_t param;           /* wildcard: index into Template.params */
} TemplatePart;

/* One '/'-separated component: parts[first .. first + n) of the template. */
typedef struct TemplateComponent {
        size_t first;
        size_t n;
} TemplateComponent;

typedef struct TemplateParam {
        char *name;
        ParamSpec spec;
} TemplateParam;

typedef struct Template {
        char *text;
        TemplateParam *params;
        size_t n_params;
        TemplatePart *parts;
        size_t n_parts;
        TemplateComponent *components;
        size_t n_components;
} Template;

/*
 * Parses "/logs/{day:date}/{name}.log". A wildcard without a type is a string, unless the same
 * name was typed earlier in the template. On -EINVAL, *ret_error is a message for the user.
 */
int template_parse(const char *s, Template **ret, char **ret_error);
Template *template_free(Template *t);
/* The template without its wildcards' names ("/x/{day:date}" and "/x/{d:date}" have one):
 * templates of one shape name the same things. */
char *template_shape(const Template *t);
DEFINE_POINTER_CLEANUP(Template, template_free);

const TemplateParam *template_find_param(const Template *t, const char *name) _pure_;

/*
 * Anchored, exact match of a whole name. Returns 1 and the binding when it fits, 0 when it
 * does not (ret untouched), <0 on allocation failure. Where a name could be split in more than
 * one way, the leftmost wildcard takes the shortest value.
 */
int template_match(const Template *t, const char *name, Binding **ret);

/*
 * Matches one component against component idx; only the last component of a template with a
 * path tail takes a name with '/'. Values already in partial (from the
 * components before it) must repeat; *ret is partial extended by this component's values.
 */
int template_match_component(const Template *t, size_t idx, const char *name,
                             const Binding *partial, Binding **ret);

/* Whether the last component holds a {name:path} wildcard, whose values span directories. */
bool template_has_path_tail(const Template *t) _pure_;

/* Whether component idx has no wildcard; its text is then template_component_literal(). */
bool template_component_is_literal(const Template *t, size_t idx) _pure_;
const char *template_component_literal(const Template *t, size_t idx) _pure_;

/*
 * Formats with the values in b, checking each against its type, so a value from outside (a
 * command line, a mapping) can never turn into "..", a '/' or a name the matcher would refuse.
 * -ENOKEY when b lacks a parameter, -EINVAL when a value does not fit its type.
 */
int template_format(const Template *t, const Binding *b, char **ret);
/* The same with each parameter's value passed through escape (which returns a new string, or
 * NULL without memory), the template's own text as it is: for a location in another syntax
 * (a URL's path). */
int template_format_escaped(const Template *t, const Binding *b, char *(*escape)(const char *v),
                            char **ret);
