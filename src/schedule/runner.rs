//! The scheduler inside the server: tokio-cron-scheduler runs the reminder planner, the
//! definitions' periodic schedules and the window notices every minute (cron with a seconds field, in the district's time zone). The database is the
//! memory: each run starts where the last recorded one ended, so a restart catches up.

use chrono::Utc;
use tokio_cron_scheduler::{Job, JobScheduler};

use crate::app::App;

/// Every minute, at second 0.
pub const REMINDER_CRON: &str = "0 * * * * *";

/// Start the scheduler; answers it so that the caller can shut it down.
pub async fn start(app: App, tz: chrono_tz::Tz) -> Result<JobScheduler, String> {
    let sched = JobScheduler::new()
        .await
        .map_err(|e| format!("cannot start the scheduler: {e}"))?;
    let job = Job::new_async_tz(REMINDER_CRON, tz, move |_id, _lock| {
        let app = app.clone();
        Box::pin(async move {
            let now = Utc::now();
            match super::periodic::run_schedules(&app, now, None, tz, false).await {
                Ok(list) => {
                    let new = list.iter().filter(|q| q.new).count();
                    if new > 0 {
                        tracing::info!(queued = new, "scheduled mails queued");
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "schedule run failed; the next run catches up")
                }
            }
            match super::windows::run_windows(&app, now, None, tz, false).await {
                Ok(list) => {
                    let new = list.iter().filter(|q| q.new).count();
                    if new > 0 {
                        tracing::info!(queued = new, "window notices queued");
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "window run failed; the next run catches up")
                }
            }
            match super::run_reminders(&app, now, None, tz, false).await {
                Ok(list) => {
                    let new = list.iter().filter(|q| q.new).count();
                    if new > 0 {
                        tracing::info!(queued = new, "reminders queued");
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "reminder run failed; the next run catches up")
                }
            }
        })
    })
    .map_err(|e| format!("bad reminder schedule: {e}"))?;
    sched
        .add(job)
        .await
        .map_err(|e| format!("cannot add the reminder job: {e}"))?;
    sched
        .start()
        .await
        .map_err(|e| format!("cannot start the scheduler: {e}"))?;
    Ok(sched)
}
