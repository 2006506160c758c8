//! The annual review's and the year's figures' reads: grouped in the database (SQLite and
//! PostgreSQL alike), so that a year of a hundred thousand projects and millions of
//! appraisals comes back as a few thousand groups, never as its rows. Each group is keyed by
//! (subdistrict, lead, stage); what a stage means is the definition's business and is folded
//! in by the pure core (`scoring::figures`).

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, Value};

/// Projects of one (organisation, lead, stage).
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectGroup {
    pub organisation_id: i64,
    pub lead_user_id: i64,
    pub stage: String,
    pub projects: i64,
    /// Of them, with a final score: how many, their sum and best.
    pub scored: i64,
    pub score_sum: f64,
    pub score_best: Option<f64>,
}

/// Appraisals of one (organisation, lead, stage, rating).
#[derive(Debug, Clone, PartialEq)]
pub struct RatingGroup {
    pub organisation_id: i64,
    pub lead_user_id: i64,
    pub stage: String,
    pub rating: String,
    pub count: i64,
}

/// Milestones of one (organisation, lead, stage).
#[derive(Debug, Clone, PartialEq)]
pub struct MilestoneGroup {
    pub organisation_id: i64,
    pub lead_user_id: i64,
    pub stage: String,
    pub milestones: i64,
    /// Done, or past their due day: the milestones that could be on time by now.
    pub due: i64,
    /// Done by the end of their due day.
    pub on_time: i64,
    /// Past their due day and not done.
    pub overdue: i64,
}

/// Topics that became a project, by (organisation, stage of the project).
#[derive(Debug, Clone, PartialEq)]
pub struct TopicGroup {
    pub organisation_id: i64,
    pub stage: String,
    pub topics: i64,
}

/// Everything of a year, grouped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct YearGroups {
    pub projects: Vec<ProjectGroup>,
    pub ratings: Vec<RatingGroup>,
    pub milestones: Vec<MilestoneGroup>,
    pub topics: Vec<TopicGroup>,
}

/// A milestone past its due day and not done, for the overdue list.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct OverdueMilestone {
    pub project_id: i64,
    pub project_title: String,
    pub organisation_id: i64,
    pub stage: String,
    pub milestone: String,
    pub due_date: NaiveDate,
}

/// `$1`-numbered SQL for the backend (SQLite reads `?1`).
fn statement(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let text = match backend {
        DbBackend::Postgres => sql.to_string(),
        _ => sql.replace('$', "?"),
    };
    Statement::from_sql_and_values(backend, text, values)
}

/// The instant a milestone's due day ends (local midnight after it), as SQL over
/// `m.due_date`, with the zone's offset from UTC in seconds at parameter `offset`.
fn due_end(backend: DbBackend, offset: &str) -> String {
    match backend {
        DbBackend::Postgres => format!(
            "(((m.due_date + 1)::timestamp - make_interval(secs => CAST({offset} AS INTEGER))) AT TIME ZONE 'UTC')"
        ),
        _ => format!("(julianday(m.due_date) + 1 - {offset} / 86400.0)"),
    }
}

fn done_at(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "m.done_at",
        _ => "julianday(m.done_at)",
    }
}

fn now_value(backend: DbBackend, now: DateTime<Utc>) -> (Value, &'static str) {
    match backend {
        DbBackend::Postgres => (Value::from(now), "$5"),
        _ => (
            Value::from(now.timestamp() as f64 / 86400.0 + 2_440_587.5),
            "$5",
        ),
    }
}

/// The year's groups of definition `key`. `offset_secs` is the definition's time zone's
/// offset from UTC; `now` decides which milestones are due.
pub async fn year_groups<C: ConnectionTrait>(
    db: &C,
    key: &str,
    year: i32,
    district: i64,
    offset_secs: i32,
    now: DateTime<Utc>,
) -> Result<YearGroups, DbErr> {
    let b = db.get_database_backend();
    let kv = || {
        vec![
            Value::from(key.to_string()),
            Value::from(year),
            Value::from(district),
        ]
    };
    // Final scores have two decimals: summed as whole hundredths they add up exactly, and so
    // alike on both databases whatever order each adds them in (a float sum may differ in its
    // last bit, and a mean of x.xx5 then round either way).
    let mut projects = db
        .query_all_raw(statement(
            b,
            "SELECT p.organisation_id, p.lead_user_id, p.stage, CAST(COUNT(*) AS BIGINT), \
             CAST(COUNT(p.final_score) AS BIGINT), \
             CAST(SUM(CAST(ROUND(p.final_score * 100) AS BIGINT)) AS BIGINT), MAX(p.final_score) \
             FROM projects p WHERE p.definition_key = $1 AND p.year = $2 AND p.district_id = $3 \
             GROUP BY p.organisation_id, p.lead_user_id, p.stage",
            kv(),
        ))
        .await?
        .iter()
        .map(|r| {
            Ok(ProjectGroup {
                organisation_id: r.try_get_by_index(0)?,
                lead_user_id: r.try_get_by_index(1)?,
                stage: r.try_get_by_index(2)?,
                projects: r.try_get_by_index(3)?,
                scored: r.try_get_by_index(4)?,
                score_sum: r
                    .try_get_by_index::<Option<i64>>(5)?
                    .map_or(0.0, |hundredths| hundredths as f64 / 100.0),
                score_best: r.try_get_by_index(6)?,
            })
        })
        .collect::<Result<Vec<_>, DbErr>>()?;
    // The appraisals are counted per project and rating first, straight from the index on
    // (project_id, rating) and in its order, for the year's projects only; only those counts
    // (a few per project) are then grouped by subdistrict, lead and stage. Grouping the
    // joined appraisals themselves sorted or hashed every one of them (5 million in a
    // province-sized year: 2.9 s on SQLite, 2.0 s on PostgreSQL; now 0.6 s and 1.2 s).
    let mut ratings = db
        .query_all_raw(statement(
            b,
            "SELECT p.organisation_id, p.lead_user_id, p.stage, x.rating, CAST(SUM(x.n) AS BIGINT) \
             FROM (SELECT a.project_id, a.rating, COUNT(*) AS n FROM appraisals a \
                   WHERE a.project_id IN (SELECT id FROM projects \
                       WHERE definition_key = $1 AND year = $2 AND district_id = $3) \
                   GROUP BY a.project_id, a.rating) x \
             JOIN projects p ON p.id = x.project_id \
             GROUP BY p.organisation_id, p.lead_user_id, p.stage, x.rating",
            kv(),
        ))
        .await?
        .iter()
        .map(|r| {
            Ok(RatingGroup {
                organisation_id: r.try_get_by_index(0)?,
                lead_user_id: r.try_get_by_index(1)?,
                stage: r.try_get_by_index(2)?,
                rating: r.try_get_by_index(3)?,
                count: r.try_get_by_index(4)?,
            })
        })
        .collect::<Result<Vec<_>, DbErr>>()?;
    let end = due_end(b, "$4");
    let done = done_at(b);
    let (now_v, now_p) = now_value(b, now);
    let mut values = kv();
    values.push(Value::from(offset_secs));
    values.push(now_v);
    let sql = format!(
        "SELECT p.organisation_id, p.lead_user_id, p.stage, CAST(COUNT(*) AS BIGINT), \
         CAST(SUM(CASE WHEN m.done_at IS NOT NULL OR {end} <= {now_p} THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(SUM(CASE WHEN m.done_at IS NOT NULL AND {done} < {end} THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(SUM(CASE WHEN m.done_at IS NULL AND {end} <= {now_p} THEN 1 ELSE 0 END) AS BIGINT) \
         FROM projects p JOIN milestones m ON m.project_id = p.id \
         WHERE p.definition_key = $1 AND p.year = $2 AND p.district_id = $3 \
         GROUP BY p.organisation_id, p.lead_user_id, p.stage"
    );
    let mut milestones = db
        .query_all_raw(statement(b, &sql, values))
        .await?
        .iter()
        .map(|r| {
            Ok(MilestoneGroup {
                organisation_id: r.try_get_by_index(0)?,
                lead_user_id: r.try_get_by_index(1)?,
                stage: r.try_get_by_index(2)?,
                milestones: r.try_get_by_index(3)?,
                due: r.try_get_by_index(4)?,
                on_time: r.try_get_by_index(5)?,
                overdue: r.try_get_by_index(6)?,
            })
        })
        .collect::<Result<Vec<_>, DbErr>>()?;
    let mut topics = db
        .query_all_raw(statement(
            b,
            "SELECT p.organisation_id, p.stage, CAST(COUNT(*) AS BIGINT) \
             FROM topics t JOIN projects p ON p.id = t.project_id \
             WHERE p.definition_key = $1 AND p.year = $2 AND p.district_id = $3 \
             GROUP BY p.organisation_id, p.stage",
            kv(),
        ))
        .await?
        .iter()
        .map(|r| {
            Ok(TopicGroup {
                organisation_id: r.try_get_by_index(0)?,
                stage: r.try_get_by_index(1)?,
                topics: r.try_get_by_index(2)?,
            })
        })
        .collect::<Result<Vec<_>, DbErr>>()?;
    // In one order on both databases (the pure core adds the groups up in this order).
    projects.sort_by(|a, b| {
        (a.organisation_id, a.lead_user_id, &a.stage).cmp(&(
            b.organisation_id,
            b.lead_user_id,
            &b.stage,
        ))
    });
    ratings.sort_by(|a, b| {
        (a.organisation_id, a.lead_user_id, &a.stage, &a.rating).cmp(&(
            b.organisation_id,
            b.lead_user_id,
            &b.stage,
            &b.rating,
        ))
    });
    milestones.sort_by(|a, b| {
        (a.organisation_id, a.lead_user_id, &a.stage).cmp(&(
            b.organisation_id,
            b.lead_user_id,
            &b.stage,
        ))
    });
    topics.sort_by(|a, b| (a.organisation_id, &a.stage).cmp(&(b.organisation_id, &b.stage)));
    Ok(YearGroups {
        projects,
        ratings,
        milestones,
        topics,
    })
}

/// The leads of the year's projects (whom the review covers besides the reviewed role).
pub async fn year_leads<C: ConnectionTrait>(
    db: &C,
    key: &str,
    year: i32,
    district: i64,
) -> Result<Vec<i64>, DbErr> {
    let b = db.get_database_backend();
    db.query_all_raw(statement(
        b,
        "SELECT DISTINCT lead_user_id FROM projects \
         WHERE definition_key = $1 AND year = $2 AND district_id = $3",
        vec![
            Value::from(key.to_string()),
            Value::from(year),
            Value::from(district),
        ],
    ))
    .await?
    .iter()
    .map(|r| r.try_get_by_index(0))
    .collect()
}

/// The milestones past their due day and not done, of projects in `stages` (those under
/// way), the longest overdue first, at most `limit`.
#[allow(clippy::too_many_arguments)]
pub async fn overdue_milestones<C: ConnectionTrait>(
    db: &C,
    key: &str,
    year: i32,
    district: i64,
    offset_secs: i32,
    now: DateTime<Utc>,
    stages: &[String],
    limit: u32,
) -> Result<Vec<OverdueMilestone>, DbErr> {
    if stages.is_empty() {
        return Ok(Vec::new());
    }
    let b = db.get_database_backend();
    let end = due_end(b, "$4");
    let (now_v, now_p) = now_value(b, now);
    let mut values = vec![
        Value::from(key.to_string()),
        Value::from(year),
        Value::from(district),
        Value::from(offset_secs),
        now_v,
    ];
    let marks: Vec<String> = stages
        .iter()
        .enumerate()
        .map(|(i, s)| {
            values.push(Value::from(s.clone()));
            format!("${}", i + 6)
        })
        .collect();
    values.push(Value::from(i64::from(limit)));
    let sql = format!(
        "SELECT p.id, p.title, p.organisation_id, p.stage, m.title, m.due_date \
         FROM projects p JOIN milestones m ON m.project_id = p.id \
         WHERE p.definition_key = $1 AND p.year = $2 AND p.district_id = $3 AND m.done_at IS NULL AND {end} <= {now_p} \
         AND p.stage IN ({}) ORDER BY m.due_date, p.id LIMIT ${}",
        marks.join(", "),
        stages.len() + 6
    );
    db.query_all_raw(statement(b, &sql, values))
        .await?
        .iter()
        .map(|r| {
            Ok(OverdueMilestone {
                project_id: r.try_get_by_index(0)?,
                project_title: r.try_get_by_index(1)?,
                organisation_id: r.try_get_by_index(2)?,
                stage: r.try_get_by_index(3)?,
                milestone: r.try_get_by_index(4)?,
                due_date: r.try_get_by_index(5)?,
            })
        })
        .collect()
}

/// Each project of the year with its lead, stage and score, for the explanation of one
/// person's project part (`lead` set) or the export's project sheet (all), in id order.
pub async fn year_projects<C: ConnectionTrait>(
    db: &C,
    key: &str,
    year: i32,
    district: i64,
    lead: Option<i64>,
) -> Result<Vec<ProjectRow>, DbErr> {
    let b = db.get_database_backend();
    let mut values = vec![
        Value::from(key.to_string()),
        Value::from(year),
        Value::from(district),
    ];
    let mut sql = "SELECT id, title, organisation_id, lead_user_id, stage, final_score, grade, \
                   milestones_total, milestones_done, appraisal_count \
                   FROM projects WHERE definition_key = $1 AND year = $2 AND district_id = $3"
        .to_string();
    if let Some(l) = lead {
        values.push(Value::from(l));
        sql.push_str(" AND lead_user_id = $4");
    }
    sql.push_str(" ORDER BY id");
    db.query_all_raw(statement(b, &sql, values))
        .await?
        .iter()
        .map(|r| {
            Ok(ProjectRow {
                id: r.try_get_by_index(0)?,
                title: r.try_get_by_index(1)?,
                organisation_id: r.try_get_by_index(2)?,
                lead_user_id: r.try_get_by_index(3)?,
                stage: r.try_get_by_index(4)?,
                final_score: r.try_get_by_index(5)?,
                grade: r.try_get_by_index(6)?,
                milestones_total: r.try_get_by_index(7)?,
                milestones_done: r.try_get_by_index(8)?,
                appraisals: r.try_get_by_index(9)?,
            })
        })
        .collect()
}

/// One project as the review's explanation and the export list it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ProjectRow {
    pub id: i64,
    pub title: String,
    pub organisation_id: i64,
    pub lead_user_id: i64,
    pub stage: String,
    pub final_score: Option<f64>,
    pub grade: Option<String>,
    pub milestones_total: i32,
    pub milestones_done: i32,
    pub appraisals: i32,
}
