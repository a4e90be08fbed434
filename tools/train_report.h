// train_report.h — swift-train's terminal output: the library reports through callbacks
// (ss_swift_train_params.on_step / on_note), this prints them on stderr.
#ifndef SS_TRAIN_REPORT_H
#define SS_TRAIN_REPORT_H
#include "slotswift.h"

typedef struct { double t0, last_draw; int epochs; } train_report;
// print notes (one line each) and, on a terminal, a progress bar with ETA while p trains
void train_report_attach(train_report *r, ss_swift_train_params *p);
#endif
