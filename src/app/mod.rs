//! Use cases. Each runs in one database transaction around the pure core:
//! load -> decide (workflow engine, scoring) -> write state + audit event + outbox rows, or
//! write nothing.

pub mod acceptance;
pub mod accounts;
pub mod appraisals;
pub mod attachments;
pub mod audit;
pub mod directory;
pub mod error;
pub mod home;
pub mod implementation;
pub mod milestones;
pub mod notifications;
pub mod office;
pub mod org_cache;
pub mod project_cache;
pub mod projects;
pub mod read_cache;
pub mod registry;
pub mod review;
pub mod scores;
pub mod session_cache;
pub mod topics;

use std::sync::Arc;

use crate::metrics::Metrics;
use crate::store::entity::{project, user};
use crate::store::files::FileStore;
use crate::store::queries::user_roles;
use crate::store::Db;
use crate::workflow::engine::{Actor, Relation};
use crate::workflow::Workflow;

pub use error::{AppError, AppResult};
pub use registry::Registry;

/// The application: database plus the registry of definition versions.
#[derive(Clone)]
pub struct App {
    pub db: Db,
    pub registry: Arc<Registry>,
    pub metrics: Arc<Metrics>,
    pub sessions: Arc<session_cache::SessionCache>,
    /// Projects read since the last commit, with their answers.
    pub projects: Arc<project_cache::ProjectCache>,
    /// Lists a page reads about a project, kept while nothing is committed.
    pub reads: Arc<read_cache::ReadCache>,
    /// Organisations read once (they are never changed, only added).
    pub organisations: Arc<org_cache::OrgCache>,
    /// Attachments.
    pub files: FileStore,
    /// Resident appraisals waiting for their group commit (PostgreSQL path).
    pub appraisal_queue: Arc<appraisals::AppraisalQueue>,
    /// The years whose annual review is frozen.
    pub frozen_years: Arc<review::FrozenYears>,
}

impl App {
    pub fn new(db: Db) -> App {
        let db_files = db.default_files_dir.clone();
        App {
            db,
            registry: Arc::new(Registry::default()),
            metrics: Metrics::new(),
            sessions: Arc::default(),
            projects: Arc::default(),
            organisations: Arc::default(),
            reads: Arc::default(),
            files: FileStore::new(db_files),
            appraisal_queue: Arc::default(),
            frozen_years: Arc::default(),
        }
    }
}

/// The signed-in user a use case acts for.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: i64,
    pub login: String,
    pub name: String,
    pub organisation_id: i64,
    pub roles: Vec<String>,
    pub language: String,
}

impl From<&user::Model> for Principal {
    fn from(u: &user::Model) -> Self {
        Principal {
            user_id: u.id,
            login: u.login.clone(),
            name: u.name.clone(),
            organisation_id: u.organisation_id,
            roles: user_roles(u).map(str::to_string).collect(),
            language: u.language.clone(),
        }
    }
}

impl Principal {
    /// Where this user stands towards a project of `organisation_id` in `district_id`.
    pub fn relation(&self, organisation_id: i64, district_id: Option<i64>) -> Relation {
        if self.organisation_id == organisation_id {
            Relation::Own
        } else if Some(self.organisation_id) == district_id {
            Relation::District
        } else {
            Relation::Outside
        }
    }

    /// Whether this user may use, on `p`, a power granted to the workflow's roles `allowed`:
    /// the engine's one rule of role scope (`engine::check_power`), conflict of interest included.
    pub fn may_use(
        &self,
        w: &Workflow,
        p: &project::Model,
        allowed: crate::workflow::compile::RoleSet,
    ) -> Result<(), AppError> {
        crate::workflow::engine::check_power(w, allowed, &self.actor(w, p), || w.role_ids(allowed))
            .map_err(AppError::from)
    }

    /// [`Principal::may_use`] for the powers of every role of `scope`.
    pub fn may_use_scope(
        &self,
        w: &Workflow,
        p: &project::Model,
        scope: crate::workflow::model::Scope,
    ) -> Result<(), AppError> {
        self.may_use(w, p, w.roles_of_scope(scope))
    }

    /// [`Principal::may_use`] for the powers of every role with an account (not `public`).
    pub fn may_use_any_scope(&self, w: &Workflow, p: &project::Model) -> Result<(), AppError> {
        use crate::workflow::model::Scope;
        let allowed = crate::workflow::compile::RoleSet(
            w.roles_of_scope(Scope::District).0 | w.roles_of_scope(Scope::Organisation).0,
        );
        self.may_use(w, p, allowed)
    }

    pub fn actor(&self, w: &Workflow, p: &project::Model) -> Actor {
        Actor {
            roles: w.roles(self.roles.iter().map(String::as_str)),
            relation: self.relation(p.organisation_id, p.district_id),
        }
    }
}
