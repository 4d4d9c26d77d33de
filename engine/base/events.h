// The timeline's event types, written down once (contract section 4; the data each one
// carries is described in journal/FORMAT.md and schemas/timeline-event.schema.json).
// Code that writes or reads events uses these names, never string literals. It sits in
// base/ because plugins (which may not see journal/) emit some of them too.
#pragma once

namespace rb::ev {

// The run.
inline constexpr const char* kRunStarted = "run.started";
inline constexpr const char* kRunResumed = "run.resumed";
inline constexpr const char* kRunInterrupted = "run.interrupted";  ///< SIGINT/SIGTERM/SIGHUP: paused, resumable
inline constexpr const char* kRunEnded = "run.ended";

// A step and its attempts.
inline constexpr const char* kStepStarted = "step.started";
inline constexpr const char* kStepAttemptFailed = "step.attempt_failed";
inline constexpr const char* kStepRetrying = "step.retrying";
inline constexpr const char* kStepSucceeded = "step.succeeded";
inline constexpr const char* kStepFailed = "step.failed";
inline constexpr const char* kStepTimedOut = "step.timed_out";
inline constexpr const char* kStepSkipped = "step.skipped";          ///< --dry-run=probes
inline constexpr const char* kStepOverBudget = "step.over_budget";
inline constexpr const char* kStepVerifying = "step.verifying";      ///< resume, idempotent: verify-first
inline constexpr const char* kStepConfirmed = "step.confirmed";      ///< resume: counted done without running
inline constexpr const char* kTransition = "transition";

// Gates.
inline constexpr const char* kCheckPassed = "check.passed";
inline constexpr const char* kCheckFailed = "check.failed";
inline constexpr const char* kCheckSkipped = "check.skipped";

// People.
inline constexpr const char* kApprovalRequested = "approval.requested";
inline constexpr const char* kApprovalRefused = "approval.refused";   ///< an answer not accepted (second person…)
inline constexpr const char* kApprovalAnswered = "approval.answered";
inline constexpr const char* kNote = "note";

// Undo.
inline constexpr const char* kRollbackStarted = "rollback.started";
inline constexpr const char* kRollbackFinished = "rollback.finished";

// Time and data objectives.
inline constexpr const char* kRtoWarning = "rto.warning";
inline constexpr const char* kRtoBreached = "rto.breached";
inline constexpr const char* kRpoRecorded = "rpo.recorded";

// Plugins' own.
inline constexpr const char* kHttpInsecure = "http.insecure";
inline constexpr const char* kHostSucceeded = "host.succeeded";
inline constexpr const char* kHostFailed = "host.failed";

// Alerts (runbook serve).
inline constexpr const char* kAlertRepeated = "alert.repeated";
inline constexpr const char* kAlertResolved = "alert.resolved";

}  // namespace rb::ev
