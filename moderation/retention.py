"""`forum purge` (events.PURGING): moderation deletes what has done its job, never the audit log.

Past `retention.moderation_days`: flags that were decided or dismissed, closed cases with no open flag left,
and sanctions that were lifted or ended. Open flags and cases stay however old. Weights and an author's
history live in per-account counters (`mod_user_record`), so purging decided flags changes neither.
The audit log is append-only and is not touched (its triggers would refuse it anyway).
"""

from __future__ import annotations

from datetime import timedelta

from forum import db, events


async def on_purging(purge: events.Purge) -> None:
    cutoff = db.time_param(purge.now - timedelta(days=purge.retention.moderation_days))
    counts = purge.counts
    counts["moderation_flags"] = await purge.delete_batches(
        "mod_flag", "status <> 'open' AND resolved_at IS NOT NULL AND resolved_at < ?", [cutoff])
    counts["moderation_cases"] = await purge.delete_batches(
        "mod_case", "status = 'closed' AND resolved_at IS NOT NULL AND resolved_at < ? AND NOT EXISTS "
        "(SELECT 1 FROM mod_flag f WHERE f.post_id = mod_case.post_id AND f.status = 'open')", [cutoff])
    counts["moderation_sanctions"] = await purge.delete_batches(
        "mod_sanction", "(lifted_at IS NOT NULL AND lifted_at < ?) OR ends_at < ?", [cutoff, cutoff])
