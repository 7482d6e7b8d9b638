//! Reading: get by id and paged lists with filters (substring names, username, `from`/`to`
//! under the configured semantics). Entry lists use a start-time index and a per-query cache
//! of matching ids, so a page costs O(limit) even with a million entries.

use std::sync::Arc;

use serde_json::Value;

use super::render::to_json;
use super::*;

pub(super) fn name_matches(hay: &str, needle: &str, substring: bool, case_sensitive: bool) -> bool {
    if case_sensitive {
        if substring {
            hay.contains(needle)
        } else {
            hay == needle
        }
    } else {
        let (h, n) = (hay.to_lowercase(), needle.to_lowercase());
        if substring {
            h.contains(&n)
        } else {
            h == n
        }
    }
}

impl Store {
    pub fn get(&self, res: Resource, id: i64, opts: &SimOptions) -> Result<Value, SimError> {
        self.check_live(res, id, false, opts)?;
        Ok(self.render(res, id))
    }

    /// One page of a list, as a bare array.
    pub fn list(
        &mut self,
        res: Resource,
        params: &[(String, String)],
        opts: &SimOptions,
    ) -> Result<Vec<u8>, SimError> {
        let mut limit: usize = 50;
        let mut page: usize = 0;
        let mut filters: Vec<(&str, &str)> = Vec::new();
        for (k, v) in params {
            match k.as_str() {
                "limit" => {
                    let n: i64 = v.trim().parse().map_err(|_| {
                        SimError::invalid(format!(
                            "`limit` must be a number from 0 to 1000, got `{v}`"
                        ))
                    })?;
                    if n < 0 {
                        return Err(SimError::invalid("`limit` must be from 0 to 1000"));
                    }
                    if n > 1000 && opts.limit_above_max == LimitAboveMax::Reject {
                        return Err(SimError::invalid("`limit` must be from 0 to 1000"));
                    }
                    limit = n.min(1000) as usize;
                }
                "page_number" => {
                    page = v.trim().parse().map_err(|_| {
                        SimError::invalid(format!(
                            "`page_number` must be a number from 0, got `{v}`"
                        ))
                    })?;
                }
                "user" if !opts.accept_user_param_alias => {
                    if opts.reject_unknown_params {
                        return Err(SimError::invalid("unknown parameter `user`"));
                    }
                }
                key if res.filters().contains(&key) => filters.push((k.as_str(), v.as_str())),
                other => {
                    if opts.reject_unknown_params {
                        return Err(SimError::invalid(format!("unknown parameter `{other}`")));
                    }
                }
            }
        }
        filters.sort();
        if opts.ignore_limit {
            limit = 50;
        }
        if opts.ignore_page_number {
            page = 0;
        }
        if res == Resource::WorkReports {
            let all = self.work_reports(&filters)?;
            let start = page.saturating_mul(limit).min(all.len());
            let end = start.saturating_add(limit).min(all.len());
            return to_json(&all[start..end]);
        }
        // Every switch that changes which ids match is part of the key.
        let key = (
            res,
            format!(
                "{filters:?}|{}|{:?}|{}|{}",
                opts.deleted_listed,
                opts.from_to,
                opts.entry_name_filter_substring,
                opts.name_filter_case_sensitive
            ),
        );
        if self.cache_version != self.version {
            self.cache.clear();
            self.cache_version = self.version;
        }
        let ids = match self.cache.get(&key) {
            Some(ids) => ids.clone(),
            None => {
                let ids = Arc::new(self.matching(res, &filters, opts)?);
                if self.cache.len() > 64 {
                    self.cache.clear();
                }
                self.cache.insert(key, ids.clone());
                ids
            }
        };
        let start = page.saturating_mul(limit).min(ids.len());
        let end = start.saturating_add(limit).min(ids.len());
        let page_ids = &ids[start..end];
        match res {
            Resource::Entries | Resource::Attendances => self.entries_json(res, page_ids),
            _ => to_json(
                &page_ids
                    .iter()
                    .map(|id| self.render(res, *id))
                    .collect::<Vec<_>>(),
            ),
        }
    }

    /// Whether a record booked on `project` passes the `projectName` and `clientName`
    /// filters of `filters` (each a substring or whole-name match, as the options say).
    pub(super) fn under_named_project(
        &self,
        project: Option<i64>,
        filters: &[(&str, &str)],
        opts: &SimOptions,
    ) -> bool {
        let get = |name: &str| filters.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        let (project_f, client_f) = (get("projectName"), get("clientName"));
        if project_f.is_none() && client_f.is_none() {
            return true;
        }
        let (sub, cs) = (
            opts.entry_name_filter_substring,
            opts.name_filter_case_sensitive,
        );
        let p = project.and_then(|p| self.projects.rows.get(&p));
        project_f.is_none_or(|n| p.is_some_and(|p| name_matches(&p.name, n, sub, cs)))
            && client_f.is_none_or(|n| {
                p.and_then(|p| self.client_name(p.client))
                    .is_some_and(|c| name_matches(c, n, sub, cs))
            })
    }

    /// Ids matching the filters, ascending (A: lists are ordered by id, §4.12).
    fn matching(
        &self,
        res: Resource,
        filters: &[(&str, &str)],
        opts: &SimOptions,
    ) -> Result<Vec<i64>, SimError> {
        let cs = opts.name_filter_case_sensitive;
        let get = |name: &str| filters.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        let show = |deleted: bool| !deleted || opts.deleted_listed;
        let ids: Vec<i64> = match res {
            Resource::Clients => self
                .clients
                .rows
                .iter()
                .filter(|(_, c)| show(c.deleted))
                .filter(|(_, c)| get("name").is_none_or(|n| name_matches(&c.name, n, true, cs)))
                .map(|(id, _)| *id)
                .collect(),
            Resource::Projects => self
                .projects
                .rows
                .iter()
                .filter(|(_, p)| show(p.deleted))
                .filter(|(_, p)| {
                    get("projectName").is_none_or(|n| name_matches(&p.name, n, true, cs))
                })
                .filter(|(_, p)| {
                    get("clientName").is_none_or(|n| {
                        self.client_name(p.client)
                            .is_some_and(|c| name_matches(c, n, true, cs))
                    })
                })
                .map(|(id, _)| *id)
                .collect(),
            Resource::Tasks => self
                .tasks
                .rows
                .iter()
                .filter(|(_, t)| show(t.deleted))
                .filter(|(_, t)| get("name").is_none_or(|n| name_matches(&t.name, n, true, cs)))
                .map(|(id, _)| *id)
                .collect(),
            Resource::Users => {
                let wanted = get("username").or(get("user"));
                self.users
                    .rows
                    .iter()
                    .filter(|(_, u)| show(u.deleted))
                    .filter(|(_, u)| wanted.is_none_or(|n| u.username == n))
                    .map(|(id, _)| *id)
                    .collect()
            }
            Resource::Expenses => self.match_expenses(filters, opts)?,
            Resource::Absences => self.match_absences(filters, opts)?,
            Resource::AbsenceTypes => ABSENCE_TYPES.iter().map(|t| t.0).collect(),
            Resource::WorkReports => vec![],
            Resource::Entries | Resource::Attendances => {
                let table = if res == Resource::Entries {
                    &self.entries
                } else {
                    &self.attendances
                };
                self.matching_entries(res, table, filters, opts)?
            }
        };
        Ok(ids)
    }

    fn matching_entries(
        &self,
        res: Resource,
        table: &EntryTable,
        filters: &[(&str, &str)],
        opts: &SimOptions,
    ) -> Result<Vec<i64>, SimError> {
        let get = |name: &str| filters.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        let time = |name: &str| -> Result<Option<i64>, SimError> {
            match get(name) {
                None => Ok(None),
                Some(v) => timeweave_timetrack::clock::parse_stamp(v)
                    .and_then(|t| opts.timestamps.wall_millis(t))
                    .map(Some)
                    .ok_or_else(|| {
                        SimError::invalid(format!(
                            "`{name}` must be a timestamp like 2020-10-23T00:00:00.000Z, got `{v}`"
                        ))
                    }),
            }
        };
        let (from, to) = (time("from")?, time("to")?);
        let user = match get("username").or(get("user")) {
            None => None,
            Some(name) => match self.users.rows.iter().find(|(_, u)| u.username == name) {
                Some((id, _)) => Some(*id),
                // An unknown user has no entries.
                None => return Ok(vec![]),
            },
        };
        let keep = |e: &EntryRow| -> bool {
            if e.deleted && !opts.deleted_listed {
                return false;
            }
            if user.is_some_and(|u| u != e.user) {
                return false;
            }
            if res == Resource::Entries && !self.under_named_project(e.project, filters, opts) {
                return false;
            }
            let end = e.to.unwrap_or(e.from);
            match opts.from_to {
                FromToSemantics::StartInclusive => {
                    from.is_none_or(|f| e.from >= f) && to.is_none_or(|t| e.from <= t)
                }
                FromToSemantics::StartHalfOpen => {
                    from.is_none_or(|f| e.from >= f) && to.is_none_or(|t| e.from < t)
                }
                FromToSemantics::Overlap => {
                    from.is_none_or(|f| end >= f) && to.is_none_or(|t| e.from <= t)
                }
                FromToSemantics::Contained => {
                    from.is_none_or(|f| e.from >= f) && to.is_none_or(|t| end <= t)
                }
            }
        };
        let start_indexed = matches!(
            opts.from_to,
            FromToSemantics::StartInclusive
                | FromToSemantics::StartHalfOpen
                | FromToSemantics::Contained
        );
        let mut ids: Vec<i64> = if start_indexed && (from.is_some() || to.is_some()) {
            let lo = (from.unwrap_or(i64::MIN), i64::MIN);
            let hi = (to.unwrap_or(i64::MAX), i64::MAX);
            if lo > hi {
                return Ok(vec![]);
            }
            table
                .by_start
                .range(lo..=hi)
                .filter(|(_, id)| table.table.rows.get(id).is_some_and(&keep))
                .map(|(_, id)| *id)
                .collect()
        } else {
            table
                .table
                .rows
                .iter()
                .filter(|(_, e)| keep(e))
                .map(|(id, _)| *id)
                .collect()
        };
        ids.sort_unstable();
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_with_project() -> (Store, i64) {
        let mut store = Store::default();
        let client = store.insert_client(ClientRow {
            name: "Test company".into(),
            enabled: true,
            extra: Map::new(),
            deleted: false,
        });
        let project = store.insert_project(ProjectRow {
            name: "Test project 001".into(),
            client: Some(client),
            enabled: true,
            extra: Map::new(),
            deleted: false,
        });
        (store, project)
    }

    #[test]
    fn project_and_client_name_filters_both_apply_to_the_booked_project() {
        let (store, project) = store_with_project();
        let opts = SimOptions {
            entry_name_filter_substring: true,
            name_filter_case_sensitive: false,
            ..SimOptions::default()
        };
        let passes =
            |p: Option<i64>, filters: &[(&str, &str)]| store.under_named_project(p, filters, &opts);
        assert!(passes(None, &[]));
        assert!(passes(Some(project), &[("projectName", "PROJECT 0")]));
        assert!(passes(Some(project), &[("clientName", "company")]));
        assert!(passes(
            Some(project),
            &[("projectName", "001"), ("clientName", "test")]
        ));
        assert!(!passes(
            Some(project),
            &[("projectName", "001"), ("clientName", "other")]
        ));
        assert!(!passes(None, &[("clientName", "company")]));
        let whole = SimOptions {
            entry_name_filter_substring: false,
            name_filter_case_sensitive: true,
            ..SimOptions::default()
        };
        assert!(!store.under_named_project(Some(project), &[("projectName", "001")], &whole));
        assert!(store.under_named_project(
            Some(project),
            &[("projectName", "Test project 001")],
            &whole
        ));
    }
}
