//! CloudEvents 1.0 binary content mode: the event's attributes travel as
//! headers and the body is the event's data. On Kafka the attributes are
//! `ce_<name>` headers and the data's media type is the `content-type`
//! header (Kafka protocol binding); over HTTP they are `ce-<name>` headers
//! beside `Content-Type` (HTTP protocol binding).

/// The CloudEvents version spoken.
pub const SPEC_VERSION: &str = "1.0";

/// The media type of every body.
pub const CONTENT_TYPE: &str = "application/json";

/// The attributes of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attributes {
    /// `id`: unique per source; consumers deduplicate by it.
    pub id: String,
    /// `source`: this service (configurable, e.g. `/order-service`).
    pub source: String,
    /// `type`: `order.created`, `order.status_changed`, …
    pub event_type: &'static str,
    /// `subject`: the order id.
    pub subject: String,
    /// `time`: when the change was made, RFC 3339.
    pub time: String,
    /// `sequence` (the CloudEvents sequence extension): the event's number
    /// within its order, zero-padded to 20 digits so that it orders
    /// lexicographically as the extension requires.
    pub sequence: u64,
    /// `position` (extension): the event's place in the global feed.
    pub position: u64,
}

impl Attributes {
    /// The `sequence` extension's text.
    pub fn sequence_text(&self) -> String {
        format!("{:020}", self.sequence)
    }

    /// Kafka headers, `ce_` prefixed, then `content-type`.
    pub fn kafka_headers(&self) -> Vec<(&'static str, String)> {
        self.named(&KAFKA_NAMES)
    }

    /// HTTP headers, `ce-` prefixed, then `content-type`.
    pub fn http_headers(&self) -> Vec<(&'static str, String)> {
        self.named(&HTTP_NAMES)
    }

    fn named(&self, names: &[&'static str; 8]) -> Vec<(&'static str, String)> {
        let values = [
            SPEC_VERSION.to_owned(),
            self.id.clone(),
            self.source.clone(),
            self.event_type.to_owned(),
            self.subject.clone(),
            self.time.clone(),
            self.sequence_text(),
            self.position.to_string(),
        ];
        names
            .iter()
            .copied()
            .zip(values)
            .chain(std::iter::once(("content-type", CONTENT_TYPE.to_owned())))
            .collect()
    }
}

/// The attributes' header names on Kafka, in the order of [`Attributes::named`].
const KAFKA_NAMES: [&str; 8] = [
    "ce_specversion",
    "ce_id",
    "ce_source",
    "ce_type",
    "ce_subject",
    "ce_time",
    "ce_sequence",
    "ce_position",
];

/// The same over HTTP.
const HTTP_NAMES: [&str; 8] = [
    "ce-specversion",
    "ce-id",
    "ce-source",
    "ce-type",
    "ce-subject",
    "ce-time",
    "ce-sequence",
    "ce-position",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn attributes() -> Attributes {
        Attributes {
            id: "0190a0a0-0000-7000-8000-000000000001".into(),
            source: "/order-service".into(),
            event_type: "order.created",
            subject: "0190a0a0-0000-7000-8000-0000000000aa".into(),
            time: "2026-11-30T10:00:00Z".into(),
            sequence: 7,
            position: 42,
        }
    }

    #[test]
    fn kafka_headers_carry_every_required_attribute_with_the_ce_underscore_prefix() {
        let headers = attributes().kafka_headers();
        let get = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("ce_specversion"), Some("1.0"));
        assert_eq!(get("ce_type"), Some("order.created"));
        assert_eq!(
            get("ce_subject"),
            Some("0190a0a0-0000-7000-8000-0000000000aa")
        );
        assert_eq!(get("ce_sequence"), Some("00000000000000000007"));
        assert_eq!(get("ce_position"), Some("42"));
        assert_eq!(get("content-type"), Some("application/json"));
    }

    #[test]
    fn http_headers_use_the_ce_dash_prefix() {
        let headers = attributes().http_headers();
        assert!(
            headers
                .iter()
                .all(|(name, _)| name.starts_with("ce-") || *name == "content-type")
        );
        assert_eq!(headers.len(), 9);
    }

    #[test]
    fn sequences_order_lexicographically() {
        let mut a = attributes();
        a.sequence = 9;
        let mut b = attributes();
        b.sequence = 10;
        assert!(a.sequence_text() < b.sequence_text());
    }
}
