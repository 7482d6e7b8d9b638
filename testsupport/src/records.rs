//! Test records with the usual defaults (an active client with only a name, an active
//! billable project, an open task), the reference data most tests seed first, and the update target a
//! test writes to: one way to write each, so a test names only what it is about.

use timeweave_contract::{Client, Person, Project, RemoteId, Task, UpdateTarget};
use timeweave_simkit::SimulatorControl;

/// A person: the display name, and the email and username when given.
pub fn person(display_name: &str, email: Option<&str>, username: Option<&str>) -> Person {
    Person {
        display_name: display_name.into(),
        email: email.map(Into::into),
        username: username.map(Into::into),
    }
}

/// An active client with only a name.
pub fn client(name: &str) -> Client {
    Client {
        name: name.into(),
        email: None,
        notes: None,
        archived: false,
    }
}

/// An active, billable project: on `client` and at `hourly_rate_cents` when given.
pub fn project(
    client: Option<&RemoteId>,
    name: &str,
    hourly_rate_cents: Option<i64>,
) -> Project<RemoteId> {
    Project {
        client: client.cloned(),
        name: name.into(),
        billable: true,
        hourly_rate_cents,
        archived: false,
    }
}

/// An open task on `project`.
pub fn task(project: &RemoteId, name: &str) -> Task<RemoteId> {
    Task {
        project: project.clone(),
        name: name.into(),
        archived: false,
    }
}

/// What [`seed_account`] added: a person, a client and a project on it.
#[derive(Clone, Debug)]
pub struct Seeded {
    pub person: RemoteId,
    pub client: RemoteId,
    pub project: RemoteId,
}

impl Seeded {
    /// The ids as (person, client, project).
    pub fn ids(self) -> (RemoteId, RemoteId, RemoteId) {
        (self.person, self.client, self.project)
    }
}

/// Adds, out of band, a client named `client_name` and a [`project`] on it named
/// `project_name` at `hourly_rate_cents`: (client, project).
pub fn seed_project(
    sim: &dyn SimulatorControl,
    client_name: &str,
    project_name: &str,
    hourly_rate_cents: Option<i64>,
) -> (RemoteId, RemoteId) {
    let client = sim.add_client(&client(client_name));
    let project = sim.add_project(&project(Some(&client), project_name, hourly_rate_cents));
    (client, project)
}

/// Adds, out of band, `person` and then what [`seed_project`] adds.
pub fn seed_account(
    sim: &dyn SimulatorControl,
    person: &Person,
    client_name: &str,
    project_name: &str,
    hourly_rate_cents: Option<i64>,
) -> Seeded {
    let person = sim.add_person(person);
    let (client, project) = seed_project(sim, client_name, project_name, hourly_rate_cents);
    Seeded {
        person,
        client,
        project,
    }
}

/// What [`seed_account`] adds for `tag`: the person "Ada {tag}" (email `ada.{tag}@example.com`,
/// username `ada{tag}`), "Client {tag}" and "Project {tag}" on it.
pub fn seed_tagged(
    sim: &dyn SimulatorControl,
    tag: &str,
    hourly_rate_cents: Option<i64>,
) -> Seeded {
    let ada = person(
        &format!("Ada {tag}"),
        Some(&format!("ada.{tag}@example.com")),
        Some(&format!("ada{tag}")),
    );
    let client = format!("Client {tag}");
    seed_account(
        sim,
        &ada,
        &client,
        &format!("Project {tag}"),
        hourly_rate_cents,
    )
}

/// The target of an update of `id`: at `version`, or unconditional when `None`.
pub fn target(id: &RemoteId, version: Option<String>) -> UpdateTarget {
    UpdateTarget {
        id: id.clone(),
        version,
    }
}
