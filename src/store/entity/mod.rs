//! sea-orm entities, one per table (see `migrations/` for the schema).

pub mod appraisal;
pub mod appraisal_token;
pub mod attachment;
pub mod audit_event;
pub mod calendar_feed;
pub mod definition;
pub mod guidance;
pub mod manual_deduction;
pub mod milestone;
pub mod organisation;
pub mod outbox;
pub mod progress_report;
pub mod project;
pub mod project_deadline;
pub mod review_event;
pub mod review_freeze;
pub mod review_item;
pub mod reviewer_assignment;
pub mod scheduler_run;
pub mod score_sheet;
pub mod session;
pub mod site_visit;
pub mod topic;
pub mod topic_comment;
pub mod topic_event;
pub mod user;
