/* SPDX-License-Identifier: MIT */
/* Outputs a server holds, confirmed without holding the loop when their run's unit ends */
#pragma once

#include "executor.h"

/* When i's unit succeeded: asks the servers holding its outputs whether they are there. 1: the
 * questions are out, and executor_finish_with() comes once they are answered; 0: no output
 * needs one; <0: they could not be asked, and *ret_reason says why (or is NULL). */
int executor_confirm(Manager *m, Instance *i, const UnitResult *res, char **ret_reason);
/* Ends i's run now, failed with reason, its questions cancelled (a cancel meanwhile). */
void executor_confirm_abort(Manager *m, Instance *i, const char *reason);
/* Cancels the questions still out; nothing is told. */
Confirming *confirming_free(Confirming *c);
