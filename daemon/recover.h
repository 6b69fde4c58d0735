/* SPDX-License-Identifier: MIT */
/* Taking back what an earlier daemon (or an earlier bus connection) left behind */
#pragma once

#include "manager.h"

/* Restores failed and retrying instances from the marks in the state directory. */
void recover_marks(Manager *m);
/* Those kept for pipelines that were not running, of the ones a reload has started. */
void recover_kept_marks(Manager *m);
/* The same for run records kept for such pipelines: followed or finished once their pipeline
 * runs, dropped once its file is gone. Before the new pipelines' scans, which would start
 * their instances again. */
void recover_kept_runs(Manager *m);
/*
 * At start-up: every run record and every sluice unit of a loaded pipeline is accounted for.
 * A unit still there is followed again (and its end read when it comes); a run whose unit is
 * gone is finished from the result sluice-result wrote, or as lost; a run that never got
 * its unit is forgotten. Nothing that started is started again.
 */
void recover_runs(Manager *m);
/* After reconnecting, or after the manager reloaded: the same, for the runs in memory. */
void recover_in_flight(Manager *m);
/* The manager did not answer i's start (it was too busy, or fell off the bus with the call in
 * flight): whether the unit exists is asked until the manager answers, and the run is then
 * followed, or, if the start never reached it, queued again as the same attempt. */
void recover_lost_start(Manager *m, Instance *i);
/* The unit of i's run is gone: its result file, or lost. */
void recover_from_result_file(Manager *m, Instance *i);
