//! What the annual review and the year's figures need to know about a definition: how each
//! stage counts (a draft, an application waiting for its decision, an approved project under
//! way, or an ending), and who runs the review and enters its items. Pure.

use super::compile::{RoleSet, Workflow};
use super::model::{AnnualReview, ItemSource, ReviewItem, Scope, StageKind, StageOutcome};

/// Where a project in a stage stands, for the year's figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StageClass {
    /// The initial stage: being written, not yet applied for.
    Draft,
    /// Applied for, not yet decided: a stage from which the project can still be rejected or
    /// withdrawn.
    Applied,
    /// Approved and under way.
    Approved,
    /// Ended, with how.
    Ended(StageOutcome),
}

impl Workflow {
    /// How a terminal stage ends a project: its `outcome`, or its id where that names one.
    /// A terminal stage with neither counts as closed (the validator requires one where the
    /// definition has an annual review).
    pub fn stage_outcome(&self, stage: &str) -> Option<StageOutcome> {
        let s = self.stage(stage)?;
        if *s.kind.get() != StageKind::Terminal {
            return None;
        }
        Some(
            s.outcome
                .as_ref()
                .map(|o| *o.get())
                .or_else(|| StageOutcome::parse(s.id.as_str()))
                .unwrap_or(StageOutcome::Closed),
        )
    }

    /// The class of `stage` (an unknown stage counts as under way).
    pub fn stage_class(&self, stage: &str) -> StageClass {
        if let Some(o) = self.stage_outcome(stage) {
            return StageClass::Ended(o);
        }
        if self.initial_stage().id.as_str() == stage {
            return StageClass::Draft;
        }
        let Some(i) = self.stage_index.get(stage) else {
            return StageClass::Approved;
        };
        let undecided = self.outgoing[*i].iter().any(|t| {
            let to = self.definition.transitions[*t].to.as_str();
            matches!(
                self.stage_outcome(to),
                Some(StageOutcome::Rejected | StageOutcome::Withdrawn)
            )
        });
        if undecided {
            StageClass::Applied
        } else {
            StageClass::Approved
        }
    }

    pub fn annual_review(&self) -> Option<&AnnualReview> {
        self.definition.annual_review.as_ref()
    }

    /// Who approves, freezes and unfreezes the review: `managed_by`, or the district's roles.
    pub fn review_managers(&self) -> RoleSet {
        match self.annual_review() {
            Some(r) if !r.managed_by.is_empty() => {
                self.roles(r.managed_by.iter().map(|i| i.as_str()))
            }
            _ => self.roles_of_scope(Scope::District),
        }
    }

    /// Who enters `item`: its `entered_by`, or the review's managers; nobody for a derived
    /// item.
    pub fn item_enterers(&self, item: &ReviewItem) -> RoleSet {
        if *item.source.get() != ItemSource::Entered {
            return RoleSet::default();
        }
        if item.entered_by.is_empty() {
            self.review_managers()
        } else {
            self.roles(item.entered_by.iter().map(|i| i.as_str()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_definitions_stages_by_class() {
        let w = crate::workflow::default_workflow();
        assert_eq!(w.stage_class("drafting"), StageClass::Draft);
        assert_eq!(w.stage_class("under_review"), StageClass::Applied);
        assert_eq!(w.stage_class("implementation"), StageClass::Approved);
        assert_eq!(w.stage_class("scoring"), StageClass::Approved);
        for o in StageOutcome::ALL {
            assert_eq!(w.stage_class(o.as_str()), StageClass::Ended(o));
        }
        let r = w.annual_review().unwrap();
        let admin = w.roles(["admin"]);
        assert_eq!(w.review_managers(), admin);
        let party = r
            .items
            .iter()
            .find(|i| i.id.as_str() == "party_building_report")
            .unwrap();
        assert_eq!(w.item_enterers(party), w.roles(["admin", "reviewer"]));
        let derived = r
            .items
            .iter()
            .find(|i| i.id.as_str() == "resident_satisfaction")
            .unwrap();
        assert_eq!(w.item_enterers(derived), RoleSet::default());
    }
}
