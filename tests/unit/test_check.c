/* check: each machine-checkable ground rule, both ways. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "core/check.h"

static int has_rule(json_t *a, const char *rule)
{
    size_t i;
    json_t *f;
    int n = 0;
    json_array_foreach(a, i, f)
    {
        n += strcmp(json_string_value(json_object_get(f, "rule")), rule) == 0;
    }
    return n;
}

static void test_rules(void **state)
{
    (void)state;
    struct ft_tracker *t = ft_tracker_new();
    struct ft_check_opts o = {10 * 86400000LL, FT_CHECK_DOING_MAX_DEFAULT};
    json_t *a = ft_check(t, &o);
    assert_int_equal(json_array_size(a), 0);
    json_decref(a);

    /* progress changed after the newest result */
    struct ft_entry *r = ft_tracker_add(t, FT_K_RESULT);
    r->created_at = 1000;
    struct ft_entry *it = ft_tracker_add(t, FT_K_ITEM);
    it->created_at = 500;
    it->state_at = 2000;
    it->state = FT_ST_DOING;
    a = ft_check(t, &o);
    assert_int_equal(has_rule(a, "run-after-update"), 1);
    /* and in progress for almost 10 days, over the 3-day default */
    assert_int_equal(has_rule(a, "doing-too-long"), 1);
    json_decref(a);
    r->created_at = 3000;
    o.doing_max_ms = 11 * 86400000LL;
    a = ft_check(t, &o);
    assert_int_equal(json_array_size(a), 0);
    json_decref(a);

    /* a final fix wants evidence and a verdict on every hypothesis */
    struct ft_entry *h1 = ft_tracker_add(t, FT_K_HYP);
    ft_tracker_add(t, FT_K_HYP)->state = FT_V_RULED_OUT;
    a = ft_check(t, &o);
    assert_int_equal(json_array_size(a), 0); /* no fix yet: open hypotheses are fine */
    json_decref(a);
    ft_set_str(&t->fix_summary, "one free function");
    a = ft_check(t, &o);
    assert_int_equal(has_rule(a, "verdict-before-fix"), 1);
    assert_int_equal(has_rule(a, "fix-evidence"), 1);
    json_decref(a);
    h1->state = FT_V_CONFIRMED;
    ft_set_str(&t->fix_evidence, "valgrind clean");
    a = ft_check(t, &o);
    assert_int_equal(json_array_size(a), 0);
    json_decref(a);
    ft_tracker_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_rules)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
