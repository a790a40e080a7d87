//! Identifiers. Ids this engine mints (orders, lines, shipments, returns,
//! payment entries, events) are UUID v7, so they sort by creation time and
//! index well; ids that come from other systems (customers, products,
//! variants) may be any non-nil UUID.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ValidationError;

macro_rules! minted_id {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "Uuid", into = "Uuid")]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps a UUID, which must be version 7.
            ///
            /// # Errors
            /// [`ValidationError::InvalidId`] for any other version.
            pub fn new(uuid: Uuid) -> Result<Self, ValidationError> {
                if uuid.get_version_num() == 7 {
                    Ok(Self(uuid))
                } else {
                    Err(ValidationError::InvalidId { field: $field, rule: "must be a UUID v7" })
                }
            }

            /// The UUID.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        id_conversions!($name, $field);
    };
}

macro_rules! external_id {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "Uuid", into = "Uuid")]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps a UUID from another system; any version but nil.
            ///
            /// # Errors
            /// [`ValidationError::InvalidId`] for the nil UUID.
            pub fn new(uuid: Uuid) -> Result<Self, ValidationError> {
                if uuid.is_nil() {
                    Err(ValidationError::InvalidId { field: $field, rule: "must not be the nil UUID" })
                } else {
                    Ok(Self(uuid))
                }
            }

            /// The UUID.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        id_conversions!($name, $field);
    };
}

macro_rules! id_conversions {
    ($name:ident, $field:literal) => {
        impl TryFrom<Uuid> for $name {
            type Error = ValidationError;
            fn try_from(uuid: Uuid) -> Result<Self, Self::Error> {
                Self::new(uuid)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl FromStr for $name {
            type Err = ValidationError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let uuid = Uuid::parse_str(s).map_err(|_| ValidationError::InvalidId {
                    field: $field,
                    rule: "must be a UUID",
                })?;
                Self::new(uuid)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

minted_id!(
    /// Identifies an order.
    OrderId,
    "order_id"
);
minted_id!(
    /// Identifies a line of an order.
    LineId,
    "line_id"
);
minted_id!(
    /// Identifies a shipment of an order.
    ShipmentId,
    "shipment_id"
);
minted_id!(
    /// Identifies a return of an order.
    ReturnId,
    "return_id"
);
minted_id!(
    /// Identifies an entry of an order's payment ledger.
    PaymentEntryId,
    "payment_entry_id"
);
minted_id!(
    /// Identifies an entry of the compensation log.
    CompensationId,
    "compensation_id"
);
minted_id!(
    /// Identifies one published domain event; consumers deduplicate by it.
    EventId,
    "event_id"
);
minted_id!(
    /// Identifies a webhook subscription.
    SubscriptionId,
    "subscription_id"
);

minted_id!(
    /// Identifies one delivery of one message to one webhook subscription.
    DeliveryId,
    "delivery_id"
);

external_id!(
    /// Identifies a customer (owned by the customer system).
    CustomerId,
    "customer_id"
);
external_id!(
    /// Identifies a product (owned by the catalog).
    ProductId,
    "product_id"
);
external_id!(
    /// Identifies a product variant (owned by the catalog).
    VariantId,
    "variant_id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_v4_uuid_is_not_an_order_id() {
        let v4 = Uuid::from_u128(0x1234_5678_9abc_4def_8123_4567_89ab_cdef);
        assert!(OrderId::new(v4).is_err());
    }

    #[test]
    fn a_v7_uuid_is_an_order_id() {
        let v7 = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001);
        assert_eq!(OrderId::new(v7).unwrap().as_uuid(), v7);
    }

    #[test]
    fn the_nil_uuid_is_not_a_customer_id() {
        assert!(CustomerId::new(Uuid::nil()).is_err());
    }

    #[test]
    fn a_malformed_id_names_its_field() {
        let err = "nope".parse::<OrderId>().unwrap_err();
        assert!(err.to_string().contains("order_id"), "{err}");
    }
}
