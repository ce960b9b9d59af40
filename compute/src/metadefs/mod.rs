//! Glance's metadata definitions catalog (metadefs): namespaces of
//! definitions that describe the properties resources may carry, with the
//! objects, properties and tags they hold and the resource types they
//! apply to.
//!
//! | module | holds |
//! |---|---|
//! | [`namespaces`] | namespaces: list, show (with what they hold), create, replace, delete |
//! | [`contents`] | a namespace's objects, properties and tags |
//! | [`resource_types`] | the resource types, and their associations with namespaces |
//!
//! Policies are Glance's defaults: anyone reads a `public` namespace, a
//! `private` one is seen by its owner project and admins (for anyone else
//! it does not exist), and only admins write (`metadef_admin`). A
//! `protected` namespace, and what it holds, cannot be deleted until it is
//! unprotected. Definitions are kept as given: objects' and properties'
//! schema fragments are JSON, checked for the fields Glance requires.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Error, RequestContext};

pub mod contents;
pub mod namespaces;
pub mod resource_types;

/// Every failure of the metadefs catalog.
#[derive(Debug, thiserror::Error)]
pub enum MetadefError {
    /// No namespace of that name the caller can see.
    #[error("Metadata definition namespace={0} was not found.")]
    NamespaceNotFound(String),
    /// No object of that name in the namespace.
    #[error(
        "The metadata definition object with name={name} was not found in namespace={namespace}."
    )]
    ObjectNotFound {
        /// The namespace.
        namespace: String,
        /// The object.
        name: String,
    },
    /// No property of that name in the namespace.
    #[error(
        "The metadata definition property with name={name} was not found in namespace={namespace}."
    )]
    PropertyNotFound {
        /// The namespace.
        namespace: String,
        /// The property.
        name: String,
    },
    /// No tag of that name in the namespace.
    #[error(
        "The metadata definition tag with name={name} was not found in namespace={namespace}."
    )]
    TagNotFound {
        /// The namespace.
        namespace: String,
        /// The tag.
        name: String,
    },
    /// No resource type of that name.
    #[error("The metadata definition resource-type with name={0}, was not found.")]
    ResourceTypeNotFound(String),
    /// The resource type is not associated with the namespace.
    #[error("The metadata definition resource-type association of resource-type={resource_type} to namespace={namespace}, was not found.")]
    AssociationNotFound {
        /// The namespace.
        namespace: String,
        /// The resource type.
        resource_type: String,
    },
    /// A name taken already (409).
    #[error("{0}")]
    Duplicate(String),
    /// A delete in a protected namespace (403).
    #[error("{0}")]
    Protected(String),
    /// Bad input, a policy refusal, the store.
    #[error(transparent)]
    Compute(#[from] Error),
}

/// What metadefs calls return.
pub type MetadefResult<T> = std::result::Result<T, MetadefError>;

/// The longest namespace, object, property or resource type name.
pub const MAX_NAME: usize = 80;
/// The longest tag name.
pub const MAX_TAG: usize = 255;
/// The JSON schema types a property may have.
pub const PROPERTY_TYPES: &[&str] = &["array", "boolean", "integer", "number", "object", "string"];

/// A namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Namespace {
    /// Its unique name.
    pub namespace: String,
    /// A name for people.
    pub display_name: Option<String>,
    /// What it is for.
    pub description: Option<String>,
    /// `public` or `private`.
    pub visibility: String,
    /// Not deletable while true.
    pub protected: bool,
    /// The owner project.
    pub owner: Option<String>,
    /// The resource types it applies to.
    pub resource_type_associations: Vec<Association>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// What a namespace holds (shown with it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NamespaceContents {
    /// Objects, by name.
    pub objects: Vec<Definition>,
    /// Properties, by name.
    pub properties: Vec<Definition>,
    /// Tags, by name.
    pub tags: Vec<Tag>,
}

/// A namespace to create, or the new state of one (`PUT` replaces it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewNamespace {
    /// Its unique name.
    pub namespace: String,
    /// A name for people.
    pub display_name: Option<String>,
    /// What it is for.
    pub description: Option<String>,
    /// `public` or `private` (default `private`; a replace keeps it).
    pub visibility: Option<String>,
    /// Not deletable (default false; a replace keeps it).
    pub protected: Option<bool>,
    /// The owner project (default the caller's; a replace keeps it).
    pub owner: Option<String>,
    /// On create: resource types to associate.
    pub resource_type_associations: Vec<NewAssociation>,
    /// On create: objects.
    pub objects: Vec<NewDefinition>,
    /// On create: properties.
    pub properties: Vec<NewDefinition>,
    /// On create: tags.
    pub tags: Vec<String>,
}

/// An object or a property: a name and the rest of its definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Definition {
    /// Its name, unique in the namespace.
    pub name: String,
    /// The other fields (`title`, `type`, `description`, `properties`, ...).
    pub body: Map<String, Value>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// An object or property to create, or the new state of one.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewDefinition {
    /// Its name.
    pub name: String,
    /// The other fields.
    pub body: Map<String, Value>,
}

/// A tag of a namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tag {
    /// Its name, unique in the namespace.
    pub name: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A resource type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceType {
    /// `OS::Glance::Image`, ...
    pub name: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A resource type associated with a namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Association {
    /// The resource type.
    pub name: String,
    /// The prefix of the namespace's properties on that resource.
    pub prefix: Option<String>,
    /// Where on the resource the properties go (`image`, `volume`, ...).
    pub properties_target: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// An association to make.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewAssociation {
    /// The resource type.
    pub name: String,
    /// The prefix.
    pub prefix: Option<String>,
    /// The properties target.
    pub properties_target: Option<String>,
}

/// Filters and page of a namespace list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NamespaceFilter {
    /// Only `public` or only `private` ones.
    pub visibility: Option<String>,
    /// Only those associated with one of these resource types.
    pub resource_types: Vec<String>,
    /// The name of the last namespace of the previous page.
    pub marker: Option<String>,
    /// Page size.
    pub limit: Option<usize>,
}

/// Fails unless the caller is an admin: Glance's `metadef_admin` for
/// every write, named by the policy `action`.
pub(crate) fn require_admin(ctx: &RequestContext, action: &str) -> MetadefResult<()> {
    if ctx.is_admin {
        Ok(())
    } else {
        Err(Error::Forbidden(format!(
            "You are not authorized to complete {action} action."
        ))
        .into())
    }
}

/// True when the caller sees `namespace`.
pub(crate) fn can_see(ctx: &RequestContext, namespace: &Namespace) -> bool {
    ctx.is_admin
        || namespace.visibility == "public"
        || namespace.owner.as_deref() == Some(ctx.project_id.as_str())
}

/// Checks a name of at most `max` characters.
pub(crate) fn check_name(what: &str, name: &str, max: usize) -> MetadefResult<()> {
    if name.trim().is_empty() {
        return Err(Error::invalid(format!("{what} may not be empty")).into());
    }
    if name.chars().count() > max {
        return Err(Error::invalid(format!("{what} is too long: at most {max} characters")).into());
    }
    Ok(())
}

/// Checks a property's definition: Glance requires a `title` and a
/// `type` of the JSON schema's types.
pub(crate) fn check_property(property: &NewDefinition) -> MetadefResult<()> {
    check_name("Property name", &property.name, MAX_NAME)?;
    if !property.body.get("title").is_some_and(Value::is_string) {
        return Err(Error::invalid(format!(
            "Property {}: 'title' is a required property",
            property.name
        ))
        .into());
    }
    match property.body.get("type").and_then(Value::as_str) {
        Some(t) if PROPERTY_TYPES.contains(&t) => Ok(()),
        Some(t) => Err(Error::invalid(format!(
            "Property {}: '{t}' is not one of {PROPERTY_TYPES:?}",
            property.name
        ))
        .into()),
        None => Err(Error::invalid(format!(
            "Property {}: 'type' is a required property",
            property.name
        ))
        .into()),
    }
}

/// Checks an object's definition: a name; its `properties`, when given,
/// are property definitions; `required` is a list of names.
pub(crate) fn check_object(object: &NewDefinition) -> MetadefResult<()> {
    check_name("Object name", &object.name, MAX_NAME)?;
    if let Some(props) = object.body.get("properties") {
        let Some(props) = props.as_object() else {
            return Err(Error::invalid("Object 'properties' must be an object").into());
        };
        for (name, body) in props {
            let Some(body) = body.as_object() else {
                return Err(Error::invalid(format!("Property {name} must be an object")).into());
            };
            check_property(&NewDefinition {
                name: name.clone(),
                body: body.clone(),
            })?;
        }
    }
    if let Some(required) = object.body.get("required") {
        if !required
            .as_array()
            .is_some_and(|r| r.iter().all(Value::is_string))
        {
            return Err(Error::invalid("Object 'required' must be a list of names").into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(name: &str, body: Value) -> NewDefinition {
        NewDefinition {
            name: name.into(),
            body: body.as_object().cloned().unwrap_or_default(),
        }
    }

    #[test]
    fn a_property_needs_a_title_and_a_json_schema_type() {
        assert!(check_property(&def("p", json!({"title": "P", "type": "string"}))).is_ok());
        assert!(check_property(&def("p", json!({"type": "string"}))).is_err());
        assert!(check_property(&def("p", json!({"title": "P", "type": "text"}))).is_err());
        assert!(check_property(&def("", json!({"title": "P", "type": "string"}))).is_err());
    }

    #[test]
    fn an_object_s_properties_are_checked_as_properties() {
        assert!(check_object(&def(
            "o",
            json!({"properties": {"a": {"title": "A", "type": "integer"}}, "required": ["a"]})
        ))
        .is_ok());
        assert!(
            check_object(&def("o", json!({"properties": {"a": {"type": "integer"}}}))).is_err()
        );
        assert!(check_object(&def("o", json!({"required": "a"}))).is_err());
    }

    #[test]
    fn private_namespaces_are_for_their_owner_and_admins() {
        let ns = Namespace {
            namespace: "n".into(),
            display_name: None,
            description: None,
            visibility: "private".into(),
            protected: false,
            owner: Some("p1".into()),
            resource_type_associations: vec![],
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        assert!(can_see(&RequestContext::new("u", "p1"), &ns));
        assert!(!can_see(&RequestContext::new("u", "p2"), &ns));
        assert!(can_see(&RequestContext::admin("a", "p2"), &ns));
    }
}
